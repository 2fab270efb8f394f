# Sourced by the SFTP benchmarks: a throwaway loopback sshd with its own host and client keys,
# one cipher, and the OpenSSH client options to reach it. Needs $work (a scratch directory)
# and $name (the script's name, for messages). Sets $port, $user, $cipher, $ssh_options and
# writes $work/known_hosts; the sshd's pid is appended to $work/pid.
for tool in /usr/sbin/sshd sftp scp ssh-keygen python3; do
    command -v "$tool" >/dev/null || { echo "$name: $tool not found; install it with: apt-get install openssh-server openssh-client python3" >&2; exit 1; }
done
mkdir -p /run/sshd
ssh-keygen -q -N '' -t ed25519 -f "$work/host_key"
ssh-keygen -q -N '' -t ed25519 -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
cipher=aes128-gcm@openssh.com
for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))  # sshd cannot bind port 0; a busy port is retried
    /usr/sbin/sshd -D -e -f /dev/null -p "$port" -o ListenAddress=127.0.0.1 -o HostKey="$work/host_key" \
        -o AuthorizedKeysFile="$work/authorized_keys" -o StrictModes=no -o UsePAM=no -o PidFile=none \
        -o 'Subsystem=sftp internal-sftp' -o PasswordAuthentication=no -o Ciphers=$cipher 2>"$work/sshd.log" &
    echo $! >> "$work/pid"
    for _ in $(seq 100); do grep -q "Server listening" "$work/sshd.log" && break; sleep 0.05; done
    grep -q "Server listening" "$work/sshd.log" && break
done
grep -q "Server listening" "$work/sshd.log" || { echo "$name: sshd did not start:" >&2; cat "$work/sshd.log" >&2; exit 1; }
echo "[127.0.0.1]:$port $(cat "$work/host_key.pub")" > "$work/known_hosts"
user=$(id -un)
ssh_options=(-F /dev/null -i "$work/client_key" -o UserKnownHostsFile="$work/known_hosts" -o BatchMode=yes -o Ciphers=$cipher)

# start_proxy LISTEN_PORT DELAY_MS [COUNT_FILE]: the delay proxy in front of the sshd, trusted
# under its own port.
start_proxy() {
    python3 bench/delay-proxy.py "$1" "$port" "$2" ${3:+"$3"} > "$work/proxy-$1.out" 2>&1 &
    echo $! >> "$work/pid"
    for _ in $(seq 100); do grep -q ready "$work/proxy-$1.out" && break; sleep 0.05; done
    grep -q ready "$work/proxy-$1.out" || { echo "$name: the delay proxy did not start:" >&2; cat "$work/proxy-$1.out" >&2; exit 1; }
    echo "[127.0.0.1]:$1 $(cat "$work/host_key.pub")" >> "$work/known_hosts"
}
