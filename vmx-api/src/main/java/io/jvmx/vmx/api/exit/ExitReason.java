package io.jvmx.vmx.api.exit;

import java.util.Locale;
import java.util.Optional;

/** Every basic exit reason of SDM Vol. 3D Appendix C, Table C-1. Bits 15:0 of the exit-reason field. */
public enum ExitReason {
    EXCEPTION_OR_NMI(0),
    EXTERNAL_INTERRUPT(1),
    TRIPLE_FAULT(2),
    INIT_SIGNAL(3),
    START_UP_IPI(4),
    IO_SMI(5),
    OTHER_SMI(6),
    INTERRUPT_WINDOW(7),
    NMI_WINDOW(8),
    TASK_SWITCH(9),
    CPUID(10),
    GETSEC(11),
    HLT(12),
    INVD(13),
    INVLPG(14),
    RDPMC(15),
    RDTSC(16),
    RSM(17),
    VMCALL(18),
    VMCLEAR(19),
    VMLAUNCH(20),
    VMPTRLD(21),
    VMPTRST(22),
    VMREAD(23),
    VMRESUME(24),
    VMWRITE(25),
    VMXOFF(26),
    VMXON(27),
    CR_ACCESS(28),
    MOV_DR(29),
    IO_INSTRUCTION(30),
    RDMSR(31),
    WRMSR(32),
    VM_ENTRY_FAILURE_INVALID_GUEST_STATE(33),
    VM_ENTRY_FAILURE_MSR_LOADING(34),
    MWAIT(36),
    MONITOR_TRAP_FLAG(37),
    MONITOR(39),
    PAUSE(40),
    VM_ENTRY_FAILURE_MACHINE_CHECK_EVENT(41),
    TPR_BELOW_THRESHOLD(43),
    APIC_ACCESS(44),
    VIRTUALIZED_EOI(45),
    ACCESS_TO_GDTR_OR_IDTR(46),
    ACCESS_TO_LDTR_OR_TR(47),
    EPT_VIOLATION(48),
    EPT_MISCONFIGURATION(49),
    INVEPT(50),
    RDTSCP(51),
    VMX_PREEMPTION_TIMER_EXPIRED(52),
    INVVPID(53),
    WBINVD_OR_WBNOINVD(54),
    XSETBV(55),
    APIC_WRITE(56),
    RDRAND(57),
    INVPCID(58),
    VMFUNC(59),
    ENCLS(60),
    RDSEED(61),
    PAGE_MODIFICATION_LOG_FULL(62),
    XSAVES(63),
    XRSTORS(64),
    PCONFIG(65),
    SPP_RELATED_EVENT(66),
    UMWAIT(67),
    TPAUSE(68),
    LOADIWKEY(69),
    ENCLV(70),
    ENQCMD_PASID_TRANSLATION_FAILURE(72),
    ENQCMDS_PASID_TRANSLATION_FAILURE(73),
    BUS_LOCK(74),
    INSTRUCTION_TIMEOUT(75),
    SEAMCALL(76),
    TDCALL(77),
    RDMSRLIST(78),
    WRMSRLIST(79);

    /** Bit 31 of the exit-reason field: VM-entry failure (SDM 25.9.1, Table 25-18). */
    public static final int ENTRY_FAILURE_BIT = 1 << 31;

    private static final ExitReason[] BY_NUMBER = new ExitReason[80];

    static {
        for (ExitReason r : values()) {
            BY_NUMBER[r.number] = r;
        }
    }

    private final int number;

    ExitReason(int number) {
        this.number = number;
    }

    /** The basic exit reason number (bits 15:0 of the exit-reason field). */
    public int number() {
        return number;
    }

    public static Optional<ExitReason> of(int basicReason) {
        return basicReason >= 0 && basicReason < BY_NUMBER.length
                ? Optional.ofNullable(BY_NUMBER[basicReason]) : Optional.empty();
    }

    /** The basic reason in a raw exit-reason field value; throws for a number the SDM does not define. */
    public static ExitReason fromExitReasonField(long field) {
        int basic = (int) (field & 0xFFFF);
        ExitReason r = basic < BY_NUMBER.length ? BY_NUMBER[basic] : null; // on every exit: no Optional
        if (r == null) {
            throw new IllegalArgumentException("undefined basic exit reason " + basic);
        }
        return r;
    }

    /** By SDM name or number, for people: "CPUID", "cr-access", "10". */
    public static Optional<ExitReason> parse(String text) {
        if (text == null || text.isBlank()) {
            return Optional.empty();
        }
        String t = text.trim();
        try {
            // decimal unless "0x": Integer.decode would read "010" as octal 8
            boolean hex = t.startsWith("0x") || t.startsWith("0X");
            return of(hex ? Integer.parseInt(t.substring(2), 16) : Integer.parseInt(t, 10));
        } catch (NumberFormatException notANumber) {
            String key = t.toUpperCase(Locale.ROOT).replace('-', '_').replace(' ', '_');
            for (ExitReason r : values()) {
                if (r.name().equals(key)) {
                    return Optional.of(r);
                }
            }
            return Optional.empty();
        }
    }
}
