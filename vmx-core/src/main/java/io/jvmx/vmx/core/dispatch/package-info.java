/** How VM exits reach handler services: the dispatcher contract, handler registrations and handler failures. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.jvmx.vmx.core.dispatch;
