/*
 * The floor: the least an SCF Custom Runtime echo bootstrap can do.
 *
 * It speaks SCF's runtime API when SCF_RUNTIME_API and SCF_RUNTIME_API_PORT are set, and
 * otherwise AWS Lambda's, at AWS_LAMBDA_RUNTIME_API ("ip:port"): no ready call, the /next
 * path under /2018-06-01, and the response posted to a path with the event's request id
 * (the one header it reads besides Content-Length). The benchmark runs this one binary both
 * ways, as `floor` and `floor-aws`.
 *
 * Built by scf-bench with `musl-gcc -static -Os -s`. One keep-alive TCP connection with
 * TCP_NODELAY, fixed static buffers, no heap allocation, one writev per request, and just
 * enough HTTP/1.1 to read a `Content-Length` response. It answers every event with
 * `Echoing request: '<event>'` (the walkthrough's index.sh) without copying the event:
 * the response body is gathered from the receive buffer by writev.
 *
 * Deliberately missing (the real runtime has them, the floor does not pay for them):
 * chunked bodies, reconnecting, request ids under SCF, deadlines and the other AWS headers,
 * limits, error reporting beyond exiting.
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
/* AWS: the path the response is posted to, with the request id. */
static char result_path[160];
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

/* Finds the header `name` (lower case, with its colon) in the head rx[0..head_end]; returns
 * the index of its value, past any blanks, or 0 if it is missing. */
static size_t header(size_t head_end, const char *name, size_t name_len)
{
    for (size_t i = 0; i < head_end; i++) {
        if (rx[i] != '\n' || i + name_len + 1 >= head_end)
            continue;
        size_t k = 0;
        while (k < name_len && lower(rx[i + 1 + k]) == name[k])
            k++;
        if (k != name_len)
            continue;
        size_t p = i + 1 + k;
        while (rx[p] == ' ' || rx[p] == '\t')
            p++;
        return p;
    }
    return 0;
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
    size_t p = header(head_end, CL, sizeof CL - 1);
    if (p) {
        while (rx[p] >= '0' && rx[p] <= '9') {
            length = length * 10 + (size_t)(rx[p] - '0');
            if (length > BODY_MAX)
                die("body too large");
            p++;
        }
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

/* AWS: builds result_path from the request id in the head of the event in rx. */
static void aws_result_path(size_t head_end)
{
    static const char ID[] = "lambda-runtime-aws-request-id:";
    static const char BEFORE[] = "/2018-06-01/runtime/invocation/";
    static const char AFTER[] = "/response";
    size_t p = header(head_end, ID, sizeof ID - 1);
    if (!p)
        die("the event has no Lambda-Runtime-Aws-Request-Id");
    size_t n = 0;
    while (p + n < head_end && rx[p + n] != '\r')
        n++;
    if (n == 0 || sizeof BEFORE + n + sizeof AFTER > sizeof result_path)
        die("bad Lambda-Runtime-Aws-Request-Id");
    char *at = put(result_path, BEFORE, sizeof BEFORE - 1);
    at = put(at, rx + p, n);
    at = put(at, AFTER, sizeof AFTER);
}

int main(void)
{
    const char *ip = getenv("SCF_RUNTIME_API");
    const char *port = getenv("SCF_RUNTIME_API_PORT");
    const char *aws = 0;
    size_t ip_len, port_len;
    if (ip && port) {
        ip_len = strlen(ip);
        port_len = strlen(port);
    } else if ((aws = getenv("AWS_LAMBDA_RUNTIME_API"))) {
        /* "ip:port": the address is copied out so that inet_pton sees only the ip. */
        const char *colon = strrchr(aws, ':');
        if (!colon)
            die("AWS_LAMBDA_RUNTIME_API is not ip:port");
        ip = aws;
        ip_len = (size_t)(colon - aws);
        port = colon + 1;
        port_len = strlen(port);
    } else {
        die("SCF_RUNTIME_API and SCF_RUNTIME_API_PORT, or AWS_LAMBDA_RUNTIME_API, must be set");
    }
    if (ip_len + port_len + 1 >= sizeof host)
        die("runtime API address too long");
    memcpy(host, ip, ip_len);
    host[ip_len] = ':';
    memcpy(host + ip_len + 1, port, port_len);
    host_len = ip_len + 1 + port_len;
    host[ip_len] = 0;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(port));
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        die("the runtime API is not at an IPv4 address");
    host[ip_len] = ':';

    sock = socket(AF_INET, SOCK_STREAM, 0);
    if (sock < 0)
        die("socket failed");
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0)
        die("cannot connect to the runtime API");

    char *body;
    size_t body_len;
    const char *next = "/runtime/invocation/next";
    const char *result = "/runtime/invocation/response";
    if (aws) {
        /* No ready call: asking for the first event is the ready. */
        next = "/2018-06-01/runtime/invocation/next";
        result = result_path;
    } else {
        struct iovec ready = {(void *)" ", 1};
        request("POST", "/runtime/init/ready", &ready, 1);
        consume(response(&body, &body_len));
    }

    for (;;) {
        request("GET", next, 0, 0);
        size_t span = response(&body, &body_len);
        if (aws)
            aws_result_path((size_t)(body - rx));
        struct iovec reply[3] = {
            {(void *)PREFIX, sizeof PREFIX - 1},
            {body, body_len},
            {(void *)SUFFIX, sizeof SUFFIX - 1},
        };
        request("POST", result, reply, 3);
        /* The event stays in rx until the answer to the POST has to be read. */
        consume(span);
        consume(response(&body, &body_len));
    }
}
