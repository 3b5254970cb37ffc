package io.jvmx.vmx.api.spi;

/**
 * What the host logical processor reports about itself for the VMCS host-state area (x86_vcpu's
 * {@code setup_vmcs_host}): control registers, selectors, descriptor-table bases and MSRs as read in VMX root
 * operation, plus the address execution resumes at after a VM exit.
 */
public record HostContext(long cr0, long cr3, long cr4, int csSelector, int ssSelector, int dsSelector,
                          int esSelector, int fsSelector, int gsSelector, int trSelector, long fsBase, long gsBase,
                          long trBase, long gdtrBase, long idtrBase, long pat, long efer, long rsp, long rip) {
}
