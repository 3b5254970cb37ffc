/**
 * Emulation of the instruction behind a memory-mapped I/O access: an EPT violation gives the VMM the guest-physical
 * address and the direction but not the data, so the VMM reads the instruction at CS:RIP through the guest's paging
 * ({@link io.jvmx.apic.mmio.GuestCode}) and decodes the MOV forms drivers use for device registers
 * ({@link io.jvmx.apic.mmio.MmioInstruction}). The local APIC is its only user today; a second memory-mapped device
 * would move this package to a bundle of its own.
 */
package io.jvmx.apic.mmio;
