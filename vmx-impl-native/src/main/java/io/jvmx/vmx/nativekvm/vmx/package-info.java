/**
 * The KVM VMX processor: VMX root operation modelled in Java, VMX non-root operation on Linux KVM. The VMCS is a
 * shadow that becomes KVM state at VM entry and is filled from kvm_run at VM exit; the exits KVM reports become the
 * SDM's exit reasons, and the ones KVM keeps in the kernel are not invented (see
 * {@link io.jvmx.vmx.api.spi.VmxProcessor#deliverableExits}).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.jvmx.vmx.nativekvm.vmx;
