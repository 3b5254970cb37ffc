package io.jvmx.vmx.api.handler;

/** The vCPU state machine of DESIGN.md: Created → Ready ⇄ Running → Stopped; any error → Failed. */
public enum VCpuState {
    CREATED,
    READY,
    RUNNING,
    STOPPED,
    FAILED
}
