/* The raw-libnats peer of bench/nats-throughput: publish COUNT messages of SIZE bytes, or
 * receive them through a plain C callback, and print the elapsed time. Built by the script. */
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile int64_t received = 0;
static int64_t target = 0;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void onMessage(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    natsMsg_Destroy(msg);
    if (++received == target) {
        pthread_mutex_lock(&lock);
        pthread_cond_signal(&done);
        pthread_mutex_unlock(&lock);
    }
}

static void onRequest(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    natsConnection_Publish(nc, natsMsg_GetReply(msg), "{}", 2);
    natsMsg_Destroy(msg);
}

static int compareDoubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static natsConnection *connectTo(const char *url, const char *name) {
    natsOptions *opts;
    natsConnection *nc;
    natsOptions_Create(&opts);
    natsOptions_SetURL(opts, url);
    natsOptions_SetName(opts, name);
    natsOptions_SetMaxPendingMsgs(opts, 1000000);
    natsOptions_SetSendAsap(opts, strcmp(name, "c-bench-rtt") == 0);
    if (natsConnection_Connect(&nc, opts) != NATS_OK) { fprintf(stderr, "cannot connect to %s\n", url); exit(1); }
    natsOptions_Destroy(opts);
    return nc;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: nats-bench publish|receive|rtt URL COUNT SIZE\n"); return 2; }
    const char *mode = argv[1], *url = argv[2];
    int64_t count = atoll(argv[3]);
    int size = atoi(argv[4]);
    char *payload = malloc(size);
    memset(payload, 'x', size);
    if (strcmp(argv[1], "rtt") == 0) {
        /* natsConnection_Request on send-ASAP connections, answered by a C callback. */
        natsConnection *server = connectTo(argv[2], "c-bench-rtt"), *client = connectTo(argv[2], "c-bench-rtt");
        natsSubscription *sub;
        natsConnection_Subscribe(&sub, server, "bench.crtt", onRequest, NULL);
        natsConnection_Flush(server);
        int64_t n = atoll(argv[3]);
        double *samples = malloc(sizeof(double) * n);
        for (int64_t i = 0; i < n; i++) {
            natsMsg *reply = NULL;
            double start = now();
            if (natsConnection_Request(&reply, client, "bench.crtt", "{}", 2, 5000) != NATS_OK) { fprintf(stderr, "request failed\n"); return 1; }
            samples[i] = (now() - start) * 1e6;
            natsMsg_Destroy(reply);
        }
        qsort(samples, n, sizeof(double), compareDoubles);
        printf("rtt %f %f\n", samples[n / 2], samples[n * 99 / 100]);
        return 0;
    }
    natsConnection *pub = connectTo(url, "c-bench-pub");
    if (strcmp(mode, "publish") == 0) {
        double start = now();
        for (int64_t i = 0; i < count; i++) natsConnection_Publish(pub, "bench.pub", payload, size);
        natsConnection_FlushTimeout(pub, 60000);
        printf("publish %lld %f\n", (long long)count, now() - start);
    } else {
        natsConnection *subConn = connectTo(url, "c-bench-sub");
        natsSubscription *sub;
        target = count;
        natsConnection_Subscribe(&sub, subConn, "bench.recv", onMessage, NULL);
        natsSubscription_SetPendingLimits(sub, 1000000, 1 << 30);
        natsConnection_Flush(subConn);
        double start = now();
        for (int64_t i = 0; i < count; i++) natsConnection_Publish(pub, "bench.recv", payload, size);
        natsConnection_FlushTimeout(pub, 60000);
        pthread_mutex_lock(&lock);
        while (received < target) pthread_cond_wait(&done, &lock);
        pthread_mutex_unlock(&lock);
        int64_t dropped = 0;
        natsSubscription_GetDropped(sub, &dropped);
        printf("receive %lld %f dropped %lld\n", (long long)count, now() - start, (long long)dropped);
    }
    return 0;
}
