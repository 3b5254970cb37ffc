package io.jvmx.vmx.core;

/** The guest's operating mode (x86_vcpu's {@code VmCpuMode}; SDM Vol. 3A, 2.2 and 9.8.5). */
public enum VmCpuMode {
    /** CR0.PE = 0. */
    REAL,
    /** CR0.PE = 1, EFER.LMA = 0. */
    PROTECTED,
    /** IA-32e mode (EFER.LMA = 1) with CS.L = 0. */
    COMPATIBILITY,
    /** IA-32e mode with CS.L = 1. */
    MODE_64
}
