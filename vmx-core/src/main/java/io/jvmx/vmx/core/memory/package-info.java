/** Guest RAM on host-physical frames and the EPT that maps it (SDM Vol. 3C, 29.3). */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.jvmx.vmx.core.memory;
