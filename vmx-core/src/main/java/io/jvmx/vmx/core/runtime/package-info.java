/** Running vCPUs on platform threads: what the shell, tests and embedders use. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.jvmx.vmx.core.runtime;
