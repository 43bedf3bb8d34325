#!/bin/sh
# Where does a Rust bootstrap's extra cold-start time go? Builds the C floor three more times,
# each adding one piece of what `strace` shows our Rust bootstrap doing before it connects:
#   +std-init  Rust std's runtime init: poll() on fds 0-2, SIGPIPE ignored, and the main
#              thread's stack-overflow guard (SIGSEGV/SIGBUS handlers, a guard-paged
#              sigaltstack: 9 system calls with an mmap and an mprotect);
#   +heap      the runtime's buffers from malloc (16 KB receive arena zeroed, reply and
#              header buffers), which under musl's allocator are brk and mmap calls and
#              first-touch page faults;
#   +both      both.
# and measures each one's cold CPU time (exec until it waits for its second event) and page
# faults over N starts against scf-bench's runtime API, beside our two builds.
# Usage (from the workspace root, after `cargo build -p scf-bench --release`):
#   sh bench/analysis/startup-ablation.sh [N]
set -eu
n=${1:-40}
root=$(pwd)
out=target/bench/ablation
mkdir -p "$out"
src=bench/contenders/floor/bootstrap.c
cat > "$out/prelude.h" <<'H'
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
static void std_init(void) {
    struct pollfd fds[3] = {{0, 0, 0}, {1, 0, 0}, {2, 0, 0}};
    poll(fds, 3, 0);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction old;
    sigaction(SIGSEGV, 0, &old);
    stack_t ss;
    sigaltstack(0, &ss);
    char *alt = mmap(0, 12288, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    mprotect(alt, 4096, PROT_NONE);
    ss.ss_sp = alt + 4096; ss.ss_size = 8192; ss.ss_flags = 0;
    sigaltstack(&ss, 0);
    sigset_t set; sigemptyset(&set); sigprocmask(SIG_UNBLOCK, &set, 0);
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL; sa.sa_flags = SA_ONSTACK | SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGBUS, 0, &old);
    sigaction(SIGBUS, &sa, 0);
}
static volatile char *keep[4];
#ifdef PAD
/* 400 KB of read-only data that is never read: the image size alone. */
const char pad[400 * 1024] = {1};
const char *volatile pad_ref = pad;
#endif
static void heap(void) {
    keep[0] = calloc(1, 16384);      /* receive arena, zeroed like vec![0; 16 KiB] */
    keep[1] = malloc(20480); keep[1][0] = 1;
    keep[2] = malloc(4096); keep[2][0] = 1;
    keep[3] = malloc(1024); keep[3][0] = 1;
}
#ifdef WRAP
static void both(void) { std_init(); heap(); }
static void none(void) {}
/* Runs before the floor's main, as Rust's runtime init runs before the user's main. */
__attribute__((constructor)) static void before_main(void) { WRAP(); }
#endif
H
build() {
    name=$1; shift
    musl-gcc -static -Os -s "$@" -include "$out/prelude.h" -o "$out/$name" "$src"
}
build floor
build floor+400KB -DWRAP=none -DPAD
build floor+std-init -DWRAP=std_init
build floor+heap -DWRAP=heap
build floor+both -DWRAP=both
cp target/bench/ours/bootstrap "$out/ours"
cp target/bench/ours-min/bootstrap "$out/ours-min" 2>/dev/null || true

# Median of N cold starts of each: the bootstrap's CPU time from exec until it waits for its
# second event (nanoseconds, from /proc/<pid>/task/*/schedstat) and its minor page faults, as
# `scf-bench profile --events 1` reports them. Variants interleaved, like the benchmark.
bench="$root/target/release/scf-bench"
variants="floor floor+400KB floor+std-init floor+heap floor+both ours ours-min"
for i in $(seq "$n"); do
    for v in $variants; do
        [ -x "$out/$v" ] || continue
        "$bench" profile --events 1 -- "$out/$v" 2>&1 \
            | awk -v v="$v" '/cpu_ns/ {print v, $6, $8}'
    done
done > "$out/samples.txt"
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf '%-16s %12s %14s\n' variant "cold CPU µs" "minor faults"
for v in $variants; do
    grep -q "^$v " "$out/samples.txt" || continue
    t=$(grep "^$v " "$out/samples.txt" | awk '{print $2}' | median)
    p=$(grep "^$v " "$out/samples.txt" | awk '{print $3}' | median)
    printf '%-16s %12.1f %14s\n' "$v" "$(echo "$t" | awk '{print $1/1000}')" "$p"
done
