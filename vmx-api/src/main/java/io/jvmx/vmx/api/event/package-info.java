/**
 * Event injection (SDM Vol. 3C 25.8.3, 27.6): the events a VMM has queued for its guest and the rule that chooses, at
 * each VM entry, which of them goes into the VM-entry interruption-information field. One implementation for the
 * vCPU and for the handler test kit, so that handlers are tested against the behaviour they run with.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.jvmx.vmx.api.event;
