// The Swift side of bench/nats-throughput: the same measurements as bench/c/nats-bench.c,
// through the NATSClient module. Prints one line per measurement:
//   publish <count> <seconds>      receive <count> <seconds>      rtt <p50 µs> <p99 µs>
import CPProtocol
import Foundation
import Logging
import NATSClient

let arguments = CommandLine.arguments
guard arguments.count == 5, let count = Int(arguments[3]), let size = Int(arguments[4]) else {
    FileHandle.standardError.write(Data("usage: nats-bench publish|receive|rtt URL COUNT SIZE\n".utf8))
    exit(2)
}
let (mode, url) = (arguments[1], arguments[2])
let logger = Logger(label: "nats-bench") { _ in SwiftLogNoOpLogHandler() }
let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)

func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func connection(_ name: String, asap: Bool = false) async throws -> NATSConnection {
    var options = NATSOptions(urls: [url], name: name)
    options.sendAsap = asap
    return try await NATSConnection.connect(options, logger: logger)
}

switch mode {
case "publish":
    let publisher = try await connection("bench-pub")
    let start = ContinuousClock.now
    for _ in 0..<count { try publisher.publish("bench.pub", payload) }
    try await publisher.flush(timeout: .seconds(60))
    print("publish \(count) \(seconds(since: start))")
case "receive":
    let receiver = try await connection("bench-sub")
    let publisher = try await connection("bench-pub")
    let subscription = try receiver.subscribe("bench.recv")
    try await receiver.flush()
    let start = ContinuousClock.now
    let producer = Task.detached {
        for _ in 0..<count { try publisher.publish("bench.recv", payload) }
        try await publisher.flush(timeout: .seconds(60))
    }
    // Off the main actor, as a role's consumers run: top-level code is main-actor isolated.
    let consumer = Task.detached {
        var received = 0
        for await _ in subscription {
            received += 1
            if received == count { break }
        }
    }
    await consumer.value
    try await producer.value
    print("receive \(count) \(seconds(since: start)) dropped \(subscription.dropped)")
case "rtt":
    let client = try await NATSClient.connect(
        NATSOptions(urls: [url], name: "bench-rtt"), sender: Sender(pod: "bench", role: "bench", name: "rtt"),
        logger: logger)
    let service = try client.serve("bench.rtt", as: Empty.self) { _ in Empty() }
    try await client.control.flush()
    // Off the main actor, as a role's requests run: a main-actor caller adds a hop per reply.
    var samples = try await Task.detached {
        var samples: [Double] = []
        for _ in 0..<count {
            let start = ContinuousClock.now
            _ = try await client.request("bench.rtt", Empty(), as: Empty.self)
            samples.append(seconds(since: start) * 1e6)
        }
        return samples
    }.value
    service.cancel()
    samples.sort()
    print("rtt \(samples[samples.count / 2]) \(samples[min(samples.count - 1, samples.count * 99 / 100)])")
default:
    FileHandle.standardError.write(Data("nats-bench: unknown mode '\(mode)'\n".utf8))
    exit(2)
}
exit(0)
