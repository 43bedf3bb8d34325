/*
 * The floor: the least an SCF Custom Runtime echo bootstrap can do.
 *
 * Built by scf-bench with `musl-gcc -static -Os -s`. One keep-alive TCP connection with
 * TCP_NODELAY, fixed static buffers, no heap allocation, one writev per request, and just
 * enough HTTP/1.1 to read a `Content-Length` response. It answers every event with
 * `Echoing request: '<event>'` (the walkthrough's index.sh) without copying the event:
 * the response body is gathered from the receive buffer by writev.
 *
 * Deliberately missing (the real runtime has them, the floor does not pay for them):
 * chunked bodies, reconnecting, request ids, limits, error reporting beyond exiting.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define HEAD_MAX (64 * 1024)
#define BODY_MAX (6 * 1024 * 1024 + 1024)

/* The receive buffer: one response head and its body. In .bss, so it costs neither file
 * size nor memory until touched. */
static char rx[HEAD_MAX + BODY_MAX];
/* Request heads are built here: "POST <path> HTTP/1.1\r\nHost: ...\r\nContent-Length: n\r\n\r\n". */
static char tx[256];
/* Host header value, "ip:port". */
static char host[64];
static size_t host_len;
static int sock;
/* Bytes in rx that belong to the next response (a peer may send ahead). */
static size_t rx_len;

static const char PREFIX[] = "Echoing request: '";
static const char SUFFIX[] = "'";

static void die(const char *why)
{
    (void)!write(2, "floor: ", 7);
    (void)!write(2, why, strlen(why));
    (void)!write(2, "\n", 1);
    exit(1);
}

static char *put(char *at, const char *s, size_t n)
{
    memcpy(at, s, n);
    return at + n;
}

static char *put_u64(char *at, unsigned long long v)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *at++ = digits[--n];
    return at;
}

/* Writes every iovec, resuming after short writes. */
static void send_all(struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(sock, iov, n);
        if (w < 0)
            die("write failed");
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
}

/* Sends a request whose body is the concatenation of body[0..nbody]. */
static void request(const char *method, const char *path, struct iovec *body, int nbody)
{
    size_t len = 0;
    for (int i = 0; i < nbody; i++)
        len += body[i].iov_len;
    char *at = tx;
    at = put(at, method, strlen(method));
    at = put(at, " ", 1);
    at = put(at, path, strlen(path));
    at = put(at, " HTTP/1.1\r\nHost: ", 17);
    at = put(at, host, host_len);
    if (nbody) {
        at = put(at, "\r\nContent-Length: ", 18);
        at = put_u64(at, len);
    }
    at = put(at, "\r\n\r\n", 4);
    struct iovec iov[4];
    iov[0].iov_base = tx;
    iov[0].iov_len = (size_t)(at - tx);
    for (int i = 0; i < nbody; i++)
        iov[i + 1] = body[i];
    send_all(iov, nbody + 1);
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Reads into rx[rx_len..] at least once; dies on end of stream. */
static void fill(void)
{
    if (rx_len == sizeof rx)
        die("response too large");
    ssize_t r = read(sock, rx + rx_len, sizeof rx - rx_len);
    if (r <= 0)
        die("connection closed");
    rx_len += (size_t)r;
}

/* Reads one response; sets *body and *body_len to its body inside rx and returns the number
 * of bytes of rx it spans (head and body), which the caller consumes with `consume`. */
static size_t response(char **body, size_t *body_len)
{
    size_t head_end = 0, scanned = 0;
    for (;;) {
        for (size_t i = scanned; i + 3 < rx_len; i++) {
            if (rx[i] == '\r' && rx[i + 1] == '\n' && rx[i + 2] == '\r' && rx[i + 3] == '\n') {
                head_end = i + 4;
                break;
            }
        }
        if (head_end)
            break;
        scanned = rx_len > 3 ? rx_len - 3 : 0;
        if (rx_len >= HEAD_MAX)
            die("response head too large");
        fill();
    }
    /* "HTTP/1.1 200 ..." */
    if (head_end < 12 || rx[9] != '2')
        die("runtime API answered with an error status");
    size_t length = 0;
    static const char CL[] = "content-length:";
    for (size_t i = 0; i < head_end; i++) {
        if (rx[i] != '\n' || i + sizeof CL >= head_end)
            continue;
        size_t k = 0;
        while (k < sizeof CL - 1 && lower(rx[i + 1 + k]) == CL[k])
            k++;
        if (k != sizeof CL - 1)
            continue;
        size_t p = i + 1 + k;
        while (rx[p] == ' ' || rx[p] == '\t')
            p++;
        while (rx[p] >= '0' && rx[p] <= '9') {
            length = length * 10 + (size_t)(rx[p] - '0');
            if (length > BODY_MAX)
                die("body too large");
            p++;
        }
        break;
    }
    while (rx_len < head_end + length)
        fill();
    *body = rx + head_end;
    *body_len = length;
    return head_end + length;
}

/* Drops the first n bytes of rx (a whole response), keeping anything sent after it. */
static void consume(size_t n)
{
    if (rx_len > n)
        memmove(rx, rx + n, rx_len - n);
    rx_len -= n;
}

int main(void)
{
    const char *ip = getenv("SCF_RUNTIME_API");
    const char *port = getenv("SCF_RUNTIME_API_PORT");
    if (!ip || !port)
        die("SCF_RUNTIME_API and SCF_RUNTIME_API_PORT must be set");
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(port));
    if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1)
        die("SCF_RUNTIME_API is not an IPv4 address");
    size_t ip_len = strlen(ip), port_len = strlen(port);
    if (ip_len + port_len + 1 >= sizeof host)
        die("SCF_RUNTIME_API too long");
    memcpy(host, ip, ip_len);
    host[ip_len] = ':';
    memcpy(host + ip_len + 1, port, port_len);
    host_len = ip_len + 1 + port_len;

    sock = socket(AF_INET, SOCK_STREAM, 0);
    if (sock < 0)
        die("socket failed");
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0)
        die("cannot connect to the runtime API");

    char *body;
    size_t body_len;
    struct iovec ready = {(void *)" ", 1};
    request("POST", "/runtime/init/ready", &ready, 1);
    consume(response(&body, &body_len));

    for (;;) {
        request("GET", "/runtime/invocation/next", 0, 0);
        size_t span = response(&body, &body_len);
        struct iovec reply[3] = {
            {(void *)PREFIX, sizeof PREFIX - 1},
            {body, body_len},
            {(void *)SUFFIX, sizeof SUFFIX - 1},
        };
        request("POST", "/runtime/invocation/response", reply, 3);
        /* The event stays in rx until the answer to the POST has to be read. */
        consume(span);
        consume(response(&body, &body_len));
    }
}
