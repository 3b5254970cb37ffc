package io.jvmx.vmx.core;

import io.jvmx.vmx.core.dispatch.ExitDispatcher;
import io.jvmx.vmx.core.memory.GuestMemory;

import java.io.ByteArrayOutputStream;

/** A fake processor with VMX on, 1 MiB of guest memory and a vCPU set up for real mode at 0x8000, bound. */
final class Fixture {
    final FakeVmxProcessor cpu;
    final VmxPerCpuState perCpu;
    final GuestMemory memory;
    final VmxVcpu vcpu;
    final ByteArrayOutputStream console = new ByteArrayOutputStream();

    Fixture(ExitDispatcher dispatcher, long timeSlice) {
        this(new FakeVmxProcessor(), dispatcher, timeSlice);
    }

    Fixture(FakeVmxProcessor cpu, ExitDispatcher dispatcher, long timeSlice) {
        this.cpu = cpu;
        perCpu = new VmxPerCpuState(cpu);
        perCpu.hardwareEnable();
        memory = GuestMemory.allocate(cpu.memory(), 1 << 20);
        vcpu = VmxVcpu.create(perCpu, 0, memory, dispatcher, console, timeSlice);
        vcpu.setup(memory.eptPointer(), 0x8000);
        vcpu.bindToCurrentProcessor();
    }
}
