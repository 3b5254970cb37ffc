/** The VMX engine of x86_vcpu: VmxPerCpuState (VMXON/VMXOFF), VmxVcpu (VMCS setup, run, events, extended state). */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.jvmx.vmx.core;
