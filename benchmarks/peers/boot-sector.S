# boot-sector — the floppy boot sector that lets a BIOS-booting emulator (QEMU, Bochs) run a jvmx guest image as
# jvmx runs it: the image at guest-physical 0x8000, entered in real mode with CS = 0, IP = 0x8000.
#
# The BIOS loads this sector to 0000:7C00 and jumps to it with DL = the boot drive. It reads IMAGE_SECTORS
# sectors, the ones after it on a 1.44 MB floppy (LBA 1 ..), to 0000:8000 with INT 13h AH=02h, one sector per call
# so that no read crosses a track, opens the A20 gate through port 0x92 (the benchmark guests stay below 1 MiB,
# but other images need not), programs COM1 for 8 data bits, and far-jumps to 0000:8000. The image then sets up
# everything else itself, as on jvmx.
#
# Why COM1 is programmed here: the jvmx images never program the UART (serial.inc: jvmx's UART needs none), and a
# 16550 comes out of reset with LCR = 0, i.e. 5-bit characters. QEMU ignores the word length, but Bochs models it
# and would send only the low 5 bits of each character. A BIOS that set up the port would leave it in 8N1 too.
# A failed read prints "boot: disk read error" on COM1 and ends on the debug-exit port with 0x7F.
#
# Assembled by benchmarks/peers/run: as --32 --defsym IMAGE_SECTORS=n, linked at 0x7C00, flat binary of 512 bytes.

.intel_syntax noprefix
.code16

.set LOAD_SEGMENT_OFFSET, 0x8000    # where jvmx loads every image
.set SECTORS_PER_TRACK, 18          # 1.44 MB floppy geometry: 80 cylinders, 2 heads, 18 sectors per track
.set HEADS, 2

.text
.globl _start
_start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00                  # the stack grows down from below this sector
    ljmp 0, offset normalized       # some BIOSes enter at 07C0:0000: make CS = 0 so that offsets are addresses
normalized:
    sti                             # the BIOS disk services need their interrupts
    cld
    mov byte ptr [boot_drive], dl
    mov bx, LOAD_SEGMENT_OFFSET     # ES:BX = where the next sector goes
    mov word ptr [next_lba], 1
    mov word ptr [sectors_left], IMAGE_SECTORS

read_next:
    cmp word ptr [sectors_left], 0
    je loaded
    mov ax, word ptr [next_lba]     # LBA -> CHS: sector = LBA mod 18 + 1, head = (LBA / 18) mod 2, cylinder = LBA / 36
    xor dx, dx
    mov cx, SECTORS_PER_TRACK
    div cx
    inc dx
    mov cl, dl                      # CL bits 5:0 = sector (cylinders < 256: bits 7:6 stay 0)
    xor dx, dx
    mov si, HEADS
    div si
    mov ch, al                      # CH = cylinder
    mov dh, dl                      # DH = head
    mov dl, byte ptr [boot_drive]
    mov ax, 0x0201                  # AH = 02h read, AL = 1 sector
    int 0x13
    jc read_error
    add bx, 512
    inc word ptr [next_lba]
    dec word ptr [sectors_left]
    jmp read_next

loaded:
    mov dx, 0x3FB                   # COM1 LCR: DLAB = 1 to reach the divisor latch
    mov al, 0x80
    out dx, al
    mov dx, 0x3F8                   # divisor 1 = 115200 baud (DLL = 1, DLM = 0)
    mov al, 1
    out dx, al
    inc dx
    xor al, al
    out dx, al
    mov dx, 0x3FB                   # LCR = 0x03: 8 data bits, no parity, 1 stop bit, DLAB = 0
    mov al, 0x03
    out dx, al

    in al, 0x92                     # System Control Port A: bit 1 = A20 gate; never write bit 0 (fast reset)
    or al, 2
    and al, 0xFE
    out 0x92, al
    cli                             # the image starts with CLI too; no BIOS interrupt must run in between
    xor ax, ax
    mov ds, ax
    mov es, ax
    ljmp 0, LOAD_SEGMENT_OFFSET

read_error:
    mov si, offset read_error_message
1:  lodsb
    test al, al
    jz 3f
    mov ah, al
    mov dx, 0x3FD                   # COM1 LSR: wait for THR empty
2:  in al, dx
    test al, 0x20
    jz 2b
    mov al, ah
    mov dx, 0x3F8
    out dx, al
    jmp 1b
3:  mov eax, 0x7F
    out 0xF4, eax
4:  cli
    hlt
    jmp 4b

read_error_message:
    .asciz "boot: disk read error\n"
boot_drive:
    .byte 0
    .balign 2
next_lba:
    .word 0
sectors_left:
    .word 0

    .org 510
    .word 0xAA55                    # boot signature
