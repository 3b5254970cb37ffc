/**
 * The Linux x86 boot protocol (Documentation/arch/x86/boot.rst): {@link io.jvmx.linux.boot.SetupHeader} reads and
 * checks a bzImage's real-mode kernel header, {@link io.jvmx.linux.boot.E820Map} is the memory map a PC firmware would
 * report for the guest's RAM, and {@link io.jvmx.linux.boot.LinuxLoader} lays kernel, zero page, command line, initrd
 * and boot GDT out in guest RAM and chooses the 32-bit boot protocol's entry state, as a
 * {@link io.jvmx.vmx.core.runtime.GuestBoot} the vCPU runtime loads and enters through the platform's normal VMCS
 * setup.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.jvmx.linux.boot;
