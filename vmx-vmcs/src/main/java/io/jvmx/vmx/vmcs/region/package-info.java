/**
 * The VMCS region as jvmx's processors keep it in host-physical memory (SDM Vol. 3C, 25.2), and the checks VMREAD
 * and VMWRITE make on an encoding (SDM 31.3): what the software and the KVM processor share.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.jvmx.vmx.vmcs.region;
