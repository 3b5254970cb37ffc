/**
 * Typed access to the current VMCS through a {@link io.jvmx.vmx.api.spi.VmxProcessor}: reads masked to the field
 * width, writes checked against it, the capability-driven control adjustment of x86_vcpu's
 * {@code vmcs::set_control}, and the text dumps the shell shows (SDM Vol. 3C, 25.11.2; Vol. 3D, Appendix A and B).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package io.jvmx.vmx.vmcs;
