package io.jvmx.vmx.api.spi;

import io.jvmx.vmx.api.vmcs.VmcsField;

import java.util.function.ObjLongConsumer;

/**
 * What the host logical processor reports about itself for the VMCS host-state area (x86_vcpu's
 * {@code setup_vmcs_host}): control registers, selectors, descriptor-table bases and MSRs as read in VMX root
 * operation, plus the address execution resumes at after a VM exit.
 */
public record HostContext(long cr0, long cr3, long cr4, int csSelector, int ssSelector, int dsSelector,
                          int esSelector, int fsSelector, int gsSelector, int trSelector, long fsBase, long gsBase,
                          long trBase, long gdtrBase, long idtrBase, long pat, long efer, long rsp, long rip) {

    /**
     * Writes what this describes into the host-state area (SDM Vol. 3C 25.5) through {@code vmwrite}: CR0, CR3, CR4,
     * the selectors, the FS/GS/TR/GDTR/IDTR bases, IA32_PAT, IA32_EFER, RSP and RIP. The IA32_SYSENTER fields are the
     * caller's.
     */
    public void writeHostState(ObjLongConsumer<VmcsField> vmwrite) {
        vmwrite.accept(VmcsField.HOST_CR0, cr0);
        vmwrite.accept(VmcsField.HOST_CR3, cr3);
        vmwrite.accept(VmcsField.HOST_CR4, cr4);
        vmwrite.accept(VmcsField.HOST_ES_SELECTOR, esSelector);
        vmwrite.accept(VmcsField.HOST_CS_SELECTOR, csSelector);
        vmwrite.accept(VmcsField.HOST_SS_SELECTOR, ssSelector);
        vmwrite.accept(VmcsField.HOST_DS_SELECTOR, dsSelector);
        vmwrite.accept(VmcsField.HOST_FS_SELECTOR, fsSelector);
        vmwrite.accept(VmcsField.HOST_GS_SELECTOR, gsSelector);
        vmwrite.accept(VmcsField.HOST_TR_SELECTOR, trSelector);
        vmwrite.accept(VmcsField.HOST_FS_BASE, fsBase);
        vmwrite.accept(VmcsField.HOST_GS_BASE, gsBase);
        vmwrite.accept(VmcsField.HOST_TR_BASE, trBase);
        vmwrite.accept(VmcsField.HOST_GDTR_BASE, gdtrBase);
        vmwrite.accept(VmcsField.HOST_IDTR_BASE, idtrBase);
        vmwrite.accept(VmcsField.HOST_IA32_PAT, pat);
        vmwrite.accept(VmcsField.HOST_IA32_EFER, efer);
        vmwrite.accept(VmcsField.HOST_RSP, rsp);
        vmwrite.accept(VmcsField.HOST_RIP, rip);
    }
}
