/**
 * The Linux KVM API for x86-64 through JNA: /dev/kvm, VMs, vCPUs with kvm_run mapped and read in place, memory
 * regions, the MSR filter, CPUID tables, and the signals and timers that end KVM_RUN. Knows nothing of VMX.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.jvmx.vmx.nativekvm.kvm;
