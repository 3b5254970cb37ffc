#!/usr/bin/env python3
"""
Generates src/test/resources/io/jvmx/vmx/emulated/cpu/alu-oracle.txt: expected results and flags of integer
instructions, measured by executing each case natively on the machine that runs this script (gcc + GNU as; x86-64
Linux). Not part of the build: run it by hand, commit its output. AluOracleTest replays every line in the interpreter.

Each case runs with RAX, RBX, RCX, RDX and the status flags set from its inputs; the line records the instruction bytes
(64-bit mode), the inputs, the outputs and the mask of the flags the SDM defines for that case (undefined flags are not
compared). Line format (hex numbers):
  bytes | asm | rax rbx rcx rdx flags | rax rbx rcx rdx flags | flagmask
The BCD instructions (invalid in 64-bit mode) run in a second, 32-bit freestanding program; their lines start with "32:".
"""
import os, random, re, subprocess, sys, tempfile

random.seed(20240601)
OUT = os.path.join(os.path.dirname(__file__), '..', 'resources', 'io', 'jvmx', 'vmx', 'emulated', 'cpu',
                   'alu-oracle.txt')
CF, PF, AF, ZF, SF, OF = 1, 4, 0x10, 0x40, 0x80, 0x800
ALL = CF | PF | AF | ZF | SF | OF
REGS = {1: ('al', 'bl', 'cl', 'dl'), 2: ('ax', 'bx', 'cx', 'dx'), 4: ('eax', 'ebx', 'ecx', 'edx'),
        8: ('rax', 'rbx', 'rcx', 'rdx')}
M64 = (1 << 64) - 1

def mask(size):
    return (1 << (8 * size)) - 1

def interesting(size):
    m = mask(size)
    top = 1 << (8 * size - 1)
    vals = [0, 1, 2, top - 1, top, top + 1, m, m - 1, 0x5A5A5A5A5A5A5A5A & m, 0xA5A5A5A5A5A5A5A5 & m,
            0x0F & m, 0x10 & m, 0x8F & m]
    return vals

cases = []  # (asm, rax, rbx, rcx, rdx, flags_in, defined_mask)

def noise():
    return random.getrandbits(64)

def put(v, size, base):
    """v in the low `size` bytes of a 64-bit register whose other bits are `base`."""
    m = mask(size)
    return (base & ~m & M64) | (v & m)

for size in (1, 2, 4, 8):
    a, b, c, d = REGS[size]
    vals = interesting(size)
    pairs = [(x, y) for x in vals for y in vals if random.random() < 0.18] + \
            [(random.getrandbits(8 * size), random.getrandbits(8 * size)) for _ in range(6)]
    for op in ('add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp', 'test'):
        for (x, y) in pairs:
            for cf in ((0, 1) if op in ('adc', 'sbb') else (random.getrandbits(1),)):
                dm = ALL if op in ('add', 'adc', 'sub', 'sbb', 'cmp') else ALL & ~AF
                cases.append((f'{op} {a}, {b}', put(x, size, noise()), put(y, size, noise()), noise(), noise(),
                              0x2 | cf, dm))
    for op in ('inc', 'dec', 'neg', 'not'):
        for x in vals:
            dm = 0 if op == 'not' else (ALL & ~CF if op in ('inc', 'dec') else ALL)
            cases.append((f'{op} {a}', put(x, size, noise()), noise(), noise(), noise(), 0x2 | random.getrandbits(1)
                          | (random.getrandbits(1) << 11), dm if op != 'not' else 0))
    bits = 8 * size
    counts = sorted({0, 1, 2, 3, bits - 1, bits, bits + 1, 7, 9, 16, 17, 31, 32, 33, 63} & set(range(64)))
    for op in ('rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar'):
        for cnt in counts:
            masked = cnt & (0x3F if size == 8 else 0x1F)
            for x in (vals[4], vals[6], vals[8], random.getrandbits(bits)):
                if masked == 0:
                    dm = ALL
                elif op in ('rol', 'ror', 'rcl', 'rcr'):
                    dm = CF | OF if masked == 1 else CF
                    if op in ('rcl', 'rcr') and size in (1, 2):
                        eff = masked % (9 if size == 1 else 17)
                        dm = (CF | OF if masked == 1 else CF) if eff != 0 else 0
                else:
                    dm = (ALL & ~AF) if masked == 1 else (ALL & ~AF & ~OF)
                    if op in ('shl', 'shr') and masked >= bits:
                        dm &= ~CF
                flags = 0x2 | random.getrandbits(1) | (random.getrandbits(1) << 11)
                cases.append((f'{op} {a}, cl', put(x, size, noise()), noise(), put(cnt, 1, noise()), noise(),
                              flags, dm))
        cases.append((f'{op} {a}, 1', put(vals[8], size, noise()), noise(), noise(), noise(), 0x3,
                      CF | OF if op in ('rol', 'ror', 'rcl', 'rcr') else ALL & ~AF))
        cases.append((f'{op} {a}, 5', put(vals[9], size, noise()), noise(), noise(), noise(), 0x2,
                      (CF if op in ('rol', 'ror', 'rcl', 'rcr') else ALL & ~AF & ~OF)))
    if size > 1:
        for op in ('shld', 'shrd'):
            for cnt in (0, 1, 2, 4, bits - 1, bits):
                if cnt > bits or cnt & (0x3F if size == 8 else 0x1F) != cnt:
                    continue
                masked = cnt
                if masked == bits:
                    continue  # 16-bit with count 16: result undefined for shld/shrd per SDM (count > size is)
                dm = ALL if masked == 0 else (ALL & ~AF if masked == 1 else ALL & ~AF & ~OF)
                cases.append((f'{op} {a}, {b}, cl', put(vals[8], size, noise()), put(vals[11], size, noise()),
                               put(cnt, 1, noise()), noise(), 0x2, dm))
            cases.append((f'{op} {a}, {b}, 3', put(random.getrandbits(bits), size, noise()),
                          put(random.getrandbits(bits), size, noise()), noise(), noise(), 0x2, ALL & ~AF & ~OF))
    # multiply and divide
    for op in ('mul', 'imul'):
        for x, y in [(vals[6], vals[6]), (vals[4], vals[6]), (3, 5), (vals[3], 2), (vals[4], vals[4]),
                     (random.getrandbits(bits), random.getrandbits(bits))]:
            cases.append((f'{op} {b}', put(x, size, noise()), put(y, size, noise()), noise(), noise(), 0x2, CF | OF))
    if size > 1:
        for x, y in [(vals[6], vals[6]), (3, 5), (vals[3], 2), (vals[4], vals[6]), (random.getrandbits(bits), 7)]:
            cases.append((f'imul {a}, {b}', put(x, size, noise()), put(y, size, noise()), noise(), noise(), 0x2,
                          CF | OF))
            cases.append((f'imul {a}, {b}, 0x7f', noise(), put(x, size, noise()), noise(), noise(), 0x2, CF | OF))
            cases.append((f'imul {a}, {b}, -3', noise(), put(x, size, noise()), noise(), noise(), 0x2, CF | OF))
    for op in ('div', 'idiv'):
        for _ in range(6):
            divisor = random.getrandbits(bits) | 1
            if op == 'div':
                q = random.getrandbits(bits)
                r = random.randrange(divisor)
                n = q * divisor + r
            else:
                sd = divisor - (1 << bits) if divisor >> (bits - 1) else divisor
                q = random.randrange(-(1 << (bits - 1)) // max(1, abs(sd)) + 1, (1 << (bits - 1)) // max(1, abs(sd)))
                r = random.randrange(abs(sd)) * (1 if random.random() < 0.5 else -1)
                if q * sd < 0 and r > 0 or q * sd > 0 and r < 0:
                    r = -r
                n = q * sd + r
                if n == 0:
                    r = 0
                n &= (1 << (2 * bits)) - 1
            if size == 1:
                rax, rdx = put(n, 2, noise()), noise()
            else:
                rax, rdx = put(n & mask(size), size, noise()), put(n >> bits, size, noise())
            cases.append((f'{op} {b}', rax, put(divisor, size, noise()), noise(), rdx, 0x2, 0))
    if size > 1:
        for op in ('bt', 'bts', 'btr', 'btc'):
            for bit in (0, 1, bits - 1, bits + 3):
                cases.append((f'{op} {a}, {b}', put(vals[8], size, noise()), put(bit, size, noise()), noise(),
                              noise(), 0x3, CF))
            cases.append((f'{op} {a}, 3', put(vals[9], size, noise()), noise(), noise(), noise(), 0x2, CF))
        for op in ('bsf', 'bsr'):
            for x in (1, vals[4], vals[8], 0x100 & mask(size), random.getrandbits(bits) | 1):
                cases.append((f'{op} {a}, {b}', noise(), put(x, size, noise()), noise(), noise(), 0x2, ZF))
        for x in (0, 1, vals[6], random.getrandbits(bits)):
            cases.append((f'popcnt {a}, {b}', noise(), put(x, size, noise()), noise(), noise(), 0x8D5, ALL))
            cases.append((f'lzcnt {a}, {b}', noise(), put(x, size, noise()), noise(), noise(), 0x2, CF | ZF))
        for x, y, acc in [(5, 5, 5), (5, 6, 7), (vals[6], 1, vals[6])]:
            cases.append((f'cmpxchg {b}, {c}', put(acc, size, noise()), put(x, size, noise()),
                          put(y, size, noise()), noise(), 0x2, ALL))
    for x, y in [(1, 2), (vals[6], 1), (vals[4], vals[4])]:
        cases.append((f'xadd {a}, {b}', put(x, size, noise()), put(y, size, noise()), noise(), noise(), 0x2, ALL))
    cases.append((f'xchg {a}, {b}', noise(), noise(), noise(), noise(), 0x2, 0))

for ins in ('cbw', 'cwde', 'cdqe', 'cwd', 'cdq', 'cqo'):
    for x in (0x7F, 0x80, 0x7FFF, 0x8000, 0x7FFFFFFF, 0x80000000, 0x8000000000000000):
        cases.append((ins, put(x, 8, 0) | (noise() & ~((1 << 64) - 1)), noise(), noise(), noise(), 0x2, 0))
for ins in ('bswap eax', 'bswap rax', 'movzx eax, bl', 'movzx rax, bx', 'movsx eax, bl', 'movsx rax, bx',
            'movsxd rax, ebx', 'movsx ax, bl', 'mov eax, ebx', 'mov ax, bx', 'mov al, bh', 'mov ah, bl',
            'lea eax, [rbx + rcx*4 + 0x10]', 'lea ax, [rbx + rcx*2 - 1]', 'lea rax, [rbx + rcx*8 - 0x80]'):
    for _ in range(2):
        cases.append((ins, noise(), noise() | 0x80, noise() | 0x8000_0000, noise(), 0x2, 0))
for cc in ('o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'):
    for fl in (0x2, 0x8D7, 0x842, 0x883, 0x0C2, 0x806):
        cases.append((f'set{cc} al', noise(), noise(), noise(), noise(), fl, ALL))
        cases.append((f'cmov{cc} eax, ebx', noise(), noise(), noise(), noise(), fl, ALL))
for fl in (0x2, 0x8D7, 0x0C3):
    cases.append(('lahf', noise(), noise(), noise(), noise(), fl, ALL))
    cases.append(('sahf', noise(), noise() , noise(), noise(), fl, ALL))
for v in (0x00, 0xFF, 0xD5, 0x41):
    cases.append(('sahf', put(v << 8, 2, noise()), noise(), noise(), noise(), 0x802, ALL))
for ins in ('cmc', 'clc', 'stc'):
    cases.append((ins, 0, 0, 0, 0, 0x3, ALL))
    cases.append((ins, 0, 0, 0, 0, 0x2, ALL))

# ---------------------------------------------------------------- 64-bit native run
d = tempfile.mkdtemp()

def assemble(mode, lines):
    src = '.intel_syntax noprefix\n' + ('.code64\n' if mode == 64 else '.code32\n')
    for i, l in enumerate(lines):
        src += f'c{i}: {l}\n'
    src += 'cend:\n'
    with open(f'{d}/e.s', 'w') as f:
        f.write(src)
    subprocess.check_call(['as', '--64' if mode == 64 else '--32', '-o', f'{d}/e.o', f'{d}/e.s'])
    subprocess.check_call(['objcopy', '-O', 'binary', '-j', '.text', f'{d}/e.o', f'{d}/e.bin'])
    sym = subprocess.check_output(['nm', f'{d}/e.o'], text=True)
    addr = {}
    for l in sym.splitlines():
        parts = l.split()
        if len(parts) == 3:
            addr[parts[2]] = int(parts[0], 16)
    blob = open(f'{d}/e.bin', 'rb').read()
    res = []
    for i in range(len(lines)):
        s, e = addr[f'c{i}'], addr[f'c{i + 1}'] if i + 1 < len(lines) else addr['cend']
        res.append(blob[s:e].hex())
    return res

enc = assemble(64, [c[0] for c in cases])

prog = ['#include <stdio.h>', '#include <stdint.h>', 'static uint64_t in[5], out[5];',
        'static void run(void);', 'int main(void) { run(); return 0; }', 'static void run(void) {']
for i, (asm, rax, rbx, rcx, rdx, fl, dm) in enumerate(cases):
    prog.append(f'in[0]=0x{rax:x}ULL; in[1]=0x{rbx:x}ULL; in[2]=0x{rcx:x}ULL; in[3]=0x{rdx:x}ULL; '
                f'in[4]=0x{fl:x}ULL;')
    prog.append('__asm__ volatile(".intel_syntax noprefix\\n'
                'mov rax, [rsi]\\n mov rbx, [rsi+8]\\n mov rcx, [rsi+16]\\n mov rdx, [rsi+24]\\n'
                'push qword ptr [rsi+32]\\n popfq\\n'
                f'{asm}\\n'
                'pushfq\\n pop qword ptr [rdi+32]\\n'
                'mov [rdi], rax\\n mov [rdi+8], rbx\\n mov [rdi+16], rcx\\n mov [rdi+24], rdx\\n'
                '.att_syntax prefix\\n" : : "S"(in), "D"(out) : "rax","rbx","rcx","rdx","memory","cc");')
    prog.append('printf("%llx %llx %llx %llx %llx\\n", (unsigned long long)out[0], (unsigned long long)out[1], '
                '(unsigned long long)out[2], (unsigned long long)out[3], (unsigned long long)out[4]);')
prog.append('}')
with open(f'{d}/o.c', 'w') as f:
    f.write('\n'.join(prog))
subprocess.check_call(['gcc', '-O0', '-mno-red-zone', '-o', f'{d}/o', f'{d}/o.c'])
outs = subprocess.check_output([f'{d}/o'], text=True).split('\n')

# ---------------------------------------------------------------- 32-bit BCD run (freestanding, Linux int 0x80)
bcd = []
for ins in ('daa', 'das', 'aaa', 'aas', 'aam', 'aad', 'aam 7', 'aad 7'):
    for ax in (0x0000, 0x0009, 0x000A, 0x0099, 0x009A, 0x00FF, 0x0105, 0x12F9, 0x0A0F, 0xFF00, 0x0066):
        for fl in (0x2, 0x3, 0x12, 0x13):
            if ins.startswith('aam') or ins.startswith('aad'):
                if fl != 0x2:
                    continue
            bcd.append((ins, ax, fl))
enc32 = assemble(32, [b[0] for b in bcd])
src = ['.intel_syntax noprefix', '.code32', '.globl _start', '.text', '_start:', 'lea edi, buf']
for ins, ax, fl in bcd:
    src += [f'mov eax, 0x{ax:x}', f'push 0x{fl:x}', 'popfd', ins, 'pushfd', 'pop edx', 'mov [edi], eax',
            'mov [edi+4], edx', 'add edi, 8']
src += ['mov eax, 4', 'mov ebx, 1', 'lea ecx, buf', 'mov edx, edi', 'sub edx, ecx', 'int 0x80',
        'mov eax, 1', 'xor ebx, ebx', 'int 0x80', '.bss', 'buf: .space 8192']
with open(f'{d}/b.s', 'w') as f:
    f.write('\n'.join(src) + '\n')
subprocess.check_call(['as', '--32', '-o', f'{d}/b.o', f'{d}/b.s'])
subprocess.check_call(['ld', '-m', 'elf_i386', '-o', f'{d}/b', f'{d}/b.o'])
raw = subprocess.check_output([f'{d}/b'])
cpu = 'unknown'
for l in open('/proc/cpuinfo'):
    if l.startswith('model name'):
        cpu = l.split(':', 1)[1].strip()
        break
with open(OUT, 'w') as f:
    f.write(f'# Measured on this CPU: {cpu}, by src/test/oracle/gen_alu_oracle.py (see its header for the format).\n')
    f.write('# bytes | asm | rax rbx rcx rdx flags (in) | rax rbx rcx rdx flags (out) | defined-flag mask\n')
    for (asm, rax, rbx, rcx, rdx, fl, dm), e, o in zip(cases, enc, outs):
        oo = [int(v, 16) for v in o.split()]
        oo[4] &= 0xFFF
        f.write(f'{e} | {asm} | {rax:x} {rbx:x} {rcx:x} {rdx:x} {fl:x} | '
                f'{oo[0]:x} {oo[1]:x} {oo[2]:x} {oo[3]:x} {oo[4]:x} | {dm:x}\n')
    for i, ((ins, ax, fl), e) in enumerate(zip(bcd, enc32)):
        eax = int.from_bytes(raw[8 * i:8 * i + 4], 'little')
        efl = int.from_bytes(raw[8 * i + 4:8 * i + 8], 'little') & 0xFFF
        dm = {'daa': ALL & ~OF, 'das': ALL & ~OF, 'aaa': AF | CF, 'aas': AF | CF}.get(ins, SF | ZF | PF)
        f.write(f'32:{e} | {ins} | {ax:x} 0 0 0 {fl:x} | {eax:x} 0 0 0 {efl:x} | {dm:x}\n')
print(f'{len(cases)} 64-bit cases, {len(bcd)} 32-bit cases -> {OUT}')
