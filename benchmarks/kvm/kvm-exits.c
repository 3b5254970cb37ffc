/*
 * kvm-exits — the C side of benchmarks/kvm/run: drives /dev/kvm directly on the same guest image as jvmx
 * (exit-loop.img: N exits on port 0x80, then port 0xF4) and prints, per run, the iterations and the nanoseconds
 * from the first KVM_RUN to the exit on port 0xF4. What a minimal VMM does per exit: KVM_RUN, read exit_reason and
 * the port from the mapped kvm_run, nothing else (KVM completes an OUT by itself at the next KVM_RUN).
 *
 * Usage: kvm-exits IMAGE ITERATIONS RUNS     output: one line per run, "c ITERATIONS NANOS"
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM (16u << 20)
#define LOAD 0x8000

static void die(const char *what) {
    perror(what);
    exit(1);
}

static uint64_t now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: kvm-exits IMAGE ITERATIONS RUNS\n");
        return 2;
    }
    uint32_t iterations = (uint32_t)strtoul(argv[2], NULL, 10);
    int runs = atoi(argv[3]);
    FILE *f = fopen(argv[1], "rb");
    if (!f) die(argv[1]);
    static unsigned char image[65536];
    size_t size = fread(image, 1, sizeof image, f);
    fclose(f);
    memcpy(image + 8, &iterations, 4); /* the iteration count at offset 0x08 */

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("/dev/kvm");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    for (int r = 0; r < runs; r++) {
        int vm = ioctl(kvm, KVM_CREATE_VM, 0);
        if (vm < 0) die("KVM_CREATE_VM");
        unsigned char *mem = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem == MAP_FAILED) die("mmap");
        memcpy(mem + LOAD, image, size);
        struct kvm_userspace_memory_region region = {.slot = 0, .guest_phys_addr = 0, .memory_size = MEM,
                                                     .userspace_addr = (uint64_t)mem};
        if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");
        int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
        if (vcpu < 0) die("KVM_CREATE_VCPU");
        struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
        if (run == MAP_FAILED) die("mmap kvm_run");
        struct kvm_sregs sregs;
        if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
        sregs.cs.selector = 0;
        sregs.cs.base = 0;
        if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
        struct kvm_regs regs = {.rip = LOAD, .rflags = 2};
        if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");

        uint64_t exits = 0, t0 = now(), t1 = 0;
        for (;;) {
            if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
            if (run->exit_reason != KVM_EXIT_IO) {
                fprintf(stderr, "unexpected exit %u after %llu exits\n", run->exit_reason, (unsigned long long)exits);
                return 1;
            }
            exits++;
            if (run->io.port == 0xF4) {
                t1 = now();
                break;
            }
        }
        printf("c %u %llu\n", iterations, (unsigned long long)(t1 - t0));
        fflush(stdout);
        munmap(run, run_size);
        close(vcpu);
        close(vm);
        munmap(mem, MEM);
    }
    close(kvm);
    return 0;
}
