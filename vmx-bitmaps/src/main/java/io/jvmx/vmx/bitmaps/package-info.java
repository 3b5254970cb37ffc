/**
 * The I/O bitmaps and the MSR bitmap a VMCS points to (SDM Vol. 3C, 25.6.4 and 25.6.9), kept in host-physical
 * frames of a {@link io.jvmx.vmx.api.memory.PhysicalMemory} where the processor reads them at each I/O instruction,
 * RDMSR and WRMSR of the guest (26.1.3).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.jvmx.vmx.bitmaps;
