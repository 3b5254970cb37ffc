package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;

import io.jvmx.guests.BundledGuests;
import io.jvmx.guests.GuestImage;
import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.GeneralRegisters;

/**
 * One run of a system test kernel (guests/src/main/asm/sys-*.S, framework in include/systest.inc) on the software
 * processor, set up as the platform runs guests: 16 MiB of guest RAM behind an EPT, the image loaded and entered in
 * real mode at 0x8000 under "unrestricted guest". The VMM's part is played here: COM1's transmit register (port
 * 0x3F8) collects the serial output, the debug-exit port (0xF4) ends the run with its exit code, CPUID is answered
 * with the processor's own CPUID (the starting point of the platform's CPUID handler), and any other VM
 * exit ends it too (a triple fault, a HLT). CR0.NE and CR4.VMXE are host-owned with the shadows the guest expects
 * (NE = 1, VMXE = 0), IA32_EFER is loaded as 0 (and saved at exits), and "enable INVPCID" is on, as a VMM exposing INVPCID in CPUID
 * would have it.
 */
final class TestKernelRun {
    static final long GUEST_RAM_BYTES = 16L << 20;
    static final int COM1_THR = 0x3F8;
    static final int DEBUG_EXIT_PORT = 0xF4;
    /** A bound on VM exits (each serial byte is one): a kernel that loops printing ends instead of hanging. */
    static final int MAX_EXITS = 2_000_000;

    final String name;
    final StringBuilder serial = new StringBuilder();
    /** The exit code written to port 0xF4, or null if the run ended otherwise. */
    Integer exitCode;
    /** The basic reason of the VM exit that ended the run. */
    int finalExitReason;
    long finalRip;
    long instructions;

    private TestKernelRun(String name) {
        this.name = name;
    }

    static TestKernelRun run(String name) {
        GuestImage image = BundledGuests.catalog().find(name)
                .orElseThrow(() -> new IllegalArgumentException("no guest image " + name + " in the catalog"));
        TestKernelRun run = new TestKernelRun(name);
        VmxFixture fx = new VmxFixture(GUEST_RAM_BYTES + (8L << 20), GUEST_RAM_BYTES);
        fx.load(image.loadAddress(), image.bytes());
        fx.write(GUEST_RIP, image.entry());
        fx.write(CR0_GUEST_HOST_MASK, Cr0.NE);
        fx.write(CR0_READ_SHADOW, Cr0.NE);
        fx.write(CR4_GUEST_HOST_MASK, Cr4.VMXE);
        fx.write(CR4_READ_SHADOW, 0);
        fx.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                fx.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) | PrimaryProcessorBasedControls.HLT_EXITING);
        // the guest's IA32_EFER is 0, as the platform loads it (otherwise VM entry leaves the host's LME in place,
        // SDM 27.3.2.1, and the first CR0.PG = 1 of a 32-bit guest would try to activate IA-32e mode)
        fx.write(VM_ENTRY_CONTROLS, fx.read(VM_ENTRY_CONTROLS) | VmEntryControls.LOAD_IA32_EFER);
        fx.write(PRIMARY_VM_EXIT_CONTROLS, fx.read(PRIMARY_VM_EXIT_CONTROLS) | VmExitControls.SAVE_IA32_EFER);
        fx.write(GUEST_IA32_EFER, 0);
        fx.write(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                fx.read(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                        | SecondaryProcessorBasedControls.ENABLE_INVPCID);
        intercept(fx, COM1_THR);
        for (int p = DEBUG_EXIT_PORT; p < DEBUG_EXIT_PORT + 4; p++) {
            intercept(fx, p);
        }
        GeneralRegisters regs = fx.guestRegisters;
        fx.cpu.vmlaunch(regs);
        for (int exits = 0; exits < MAX_EXITS; exits++) {
            int reason = fx.exitReason() & 0xFFFF;
            if (reason == ExitReason.CPUID.number()) {
                // the VMM answers with the processor's own CPUID, as the platform's CPUID handler starts from
                CpuidResult r = fx.cpu.cpuid((int) regs.get(GeneralRegisters.RAX), (int) regs.get(GeneralRegisters.RCX));
                regs.set(GeneralRegisters.RAX, r.eax() & 0xFFFF_FFFFL);
                regs.set(GeneralRegisters.RBX, r.ebx() & 0xFFFF_FFFFL);
                regs.set(GeneralRegisters.RCX, r.ecx() & 0xFFFF_FFFFL);
                regs.set(GeneralRegisters.RDX, r.edx() & 0xFFFF_FFFFL);
                fx.write(GUEST_RIP, fx.read(GUEST_RIP) + fx.read(VM_EXIT_INSTRUCTION_LENGTH));
                fx.cpu.vmresume(regs);
                continue;
            }
            if (reason != ExitReason.IO_INSTRUCTION.number()) {
                run.end(fx, reason);
                return run;
            }
            IoQualification q = IoQualification.decode(fx.read(EXIT_QUALIFICATION));
            long rax = regs.get(GeneralRegisters.RAX);
            if (q.port() == COM1_THR && !q.in() && !q.string()) {
                run.serial.append((char) (rax & 0xFF));
            } else if (q.port() == DEBUG_EXIT_PORT && !q.in() && !q.string()) {
                run.exitCode = (int) (rax & (q.size() == 1 ? 0xFF : q.size() == 2 ? 0xFFFF : 0xFFFF_FFFFL));
                run.end(fx, reason);
                return run;
            } else {
                throw new AssertionError(name + ": unexpected I/O exit " + q + "\n" + run.serial);
            }
            fx.write(GUEST_RIP, fx.read(GUEST_RIP) + fx.read(VM_EXIT_INSTRUCTION_LENGTH));
            fx.cpu.vmresume(regs);
        }
        throw new AssertionError(name + " made more than " + MAX_EXITS + " VM exits\n" + run.serial);
    }

    private void end(VmxFixture fx, int reason) {
        finalExitReason = reason;
        finalRip = fx.read(GUEST_RIP);
        instructions = fx.cpu.guestInstructionsRetired();
    }

    private static void intercept(VmxFixture fx, int port) {
        long bitmap = port < 0x8000 ? fx.ioBitmapA : fx.ioBitmapB;
        int bit = port & 0x7FFF;
        fx.memory.write8(bitmap + (bit >>> 3), fx.memory.read8(bitmap + (bit >>> 3)) | (1 << (bit & 7)));
    }

    /** How the run ended, for assertion messages. */
    String describe() {
        String end = exitCode != null ? "exit code " + exitCode
                : "VM exit " + ExitReason.of(finalExitReason).map(Enum::name).orElse("#" + finalExitReason)
                        + String.format(" at guest RIP %#x", finalRip);
        return name + " ended with " + end + " after " + instructions + " instructions; serial output:\n" + serial;
    }
}
