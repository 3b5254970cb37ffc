package io.jvmx.vmx.api.msr;

/**
 * IA32_VMX_MISC (SDM Vol. 3D, A.6).
 *
 * @param preemptionTimerRate bits 4:0: the VMX-preemption timer counts down by 1 each time bit X of the TSC
 *                            changes, X being this value
 * @param storesLma           bit 5: VM exits store EFER.LMA into the "IA-32e mode guest" VM-entry control
 * @param activityStates      bits 8:6: HLT (bit 6), shutdown (bit 7), wait-for-SIPI (bit 8)
 * @param cr3TargetCount      bits 24:16: number of CR3-target values
 * @param maxMsrListSize      bits 27:25: 512 * (N + 1) is the recommended maximum of MSR-list entries
 * @param vmwriteAnyField     bit 29: VMWRITE may write VM-exit information fields
 * @param zeroLengthInjection bit 30: VM entry may inject software interrupts/exceptions with length 0
 * @param msegRevisionId      bits 63:32
 */
public record VmxMisc(int preemptionTimerRate, boolean storesLma, int activityStates, int cr3TargetCount,
                      int maxMsrListSize, boolean vmwriteAnyField, boolean zeroLengthInjection,
                      int msegRevisionId) {

    public static VmxMisc decode(long msr) {
        return new VmxMisc((int) (msr & 0x1F), ((msr >>> 5) & 1) != 0, (int) ((msr >>> 6) & 7),
                (int) ((msr >>> 16) & 0x1FF), (int) ((msr >>> 25) & 7), ((msr >>> 29) & 1) != 0,
                ((msr >>> 30) & 1) != 0, (int) (msr >>> 32));
    }

    public long encode() {
        return (preemptionTimerRate & 0x1F) | (storesLma ? 1L << 5 : 0) | ((long) (activityStates & 7) << 6)
                | ((long) (cr3TargetCount & 0x1FF) << 16) | ((long) (maxMsrListSize & 7) << 25)
                | (vmwriteAnyField ? 1L << 29 : 0) | (zeroLengthInjection ? 1L << 30 : 0)
                | ((long) msegRevisionId << 32);
    }
}
