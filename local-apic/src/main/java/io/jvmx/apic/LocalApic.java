package io.jvmx.apic;

import io.jvmx.vmx.api.handler.InterruptController;
import io.jvmx.vmx.api.handler.InterruptLine;

/**
 * A local APIC as SDM Vol. 3A chapter 11 ("Advanced Programmable Interrupt Controller") describes it, for a
 * processor that is alone in its machine: the registers of the xAPIC (memory-mapped, 11.4.1 Table 11-1) and of the
 * x2APIC (MSR 800H + offset / 16, 11.12.1.2 Table 11-6), IA32_APIC_BASE with the state transitions of 11.12.5, the
 * interrupt priorities (TPR, PPR, IRR, ISR, EOI; 11.8), the LVT, the error register, self-IPIs through the ICR and the
 * SELF IPI register, and the timer in one-shot, periodic and TSC-deadline mode (11.5.4).
 *
 * <p>Time is the guest's TSC, passed in by the caller ({@code tsc} parameters): the model has no clock of its own, so
 * it is deterministic. The timer's input clock ticks once every {@code tscPerTick} TSC ticks (the bus clock, before
 * the divide configuration); {@link #nextTimerEvent} says when the timer next needs attention and
 * {@link #advanceTo} makes it fire whatever was due.
 *
 * <p>As the processor's {@link InterruptController}: {@link #pendingInterrupt} is the highest requested vector whose
 * priority class is above the processor priority, {@link #acknowledgeInterrupt} moves it from IRR to ISR.
 *
 * <p>LINT0 can carry the 8259A's INTR ({@link #connectLint0}): with LVT LINT0 unmasked in ExtINT mode (virtual wire
 * mode), or while the APIC is globally disabled, the 8259A's interrupt is the one the processor takes, with the
 * 8259A's vector, outside IRR, ISR and the priorities (SDM 11.5.1: ExtINT "causes the processor to respond to the
 * interrupt as if the interrupt originated in an externally connected (8259A-compatible) interrupt controller"),
 * before the APIC's own fixed interrupts, as KVM gives it precedence.
 *
 * <p>Not modelled, because a single processor without I/O APIC has no source for them: level-triggered interrupts from
 * the LINT pins, fixed or NMI delivery from the LINT pins, the thermal and performance-monitoring LVT sources, remote read (RRD), and INIT, SIPI or SMI sent to
 * this processor itself (an {@link IllegalStateException} says so if a guest tries). IPIs to other APIC IDs reach no
 * one, as on a machine without those processors. The CMCI LVT (02F0H) does not exist (Version.MaxLVT = 5).
 */
public final class LocalApic implements InterruptController {

    // ---- register offsets in the xAPIC page (SDM 11.4.1, Table 11-1); the x2APIC MSR is 800H + offset >> 4 ----
    public static final int ID = 0x20, VERSION = 0x30, TPR = 0x80, APR = 0x90, PPR = 0xA0, EOI = 0xB0, RRD = 0xC0,
            LDR = 0xD0, DFR = 0xE0, SVR = 0xF0, ISR = 0x100, TMR = 0x180, IRR = 0x200, ESR = 0x280,
            LVT_CMCI = 0x2F0, ICR_LOW = 0x300, ICR_HIGH = 0x310, LVT_TIMER = 0x320, LVT_THERMAL = 0x330,
            LVT_PERFORMANCE = 0x340, LVT_LINT0 = 0x350, LVT_LINT1 = 0x360, LVT_ERROR = 0x370,
            TIMER_INITIAL_COUNT = 0x380, TIMER_CURRENT_COUNT = 0x390, DIVIDE_CONFIGURATION = 0x3E0, SELF_IPI = 0x3F0;

    /** The xAPIC page's default base (SDM 11.4.4). */
    public static final long DEFAULT_BASE = 0xFEE0_0000L;
    /** IA32_APIC_BASE bits (SDM 11.4.4 Figure 11-5, 11.12.1 Figure 11-26). */
    public static final long BASE_BSP = 1L << 8, BASE_EXTD = 1L << 10, BASE_EN = 1L << 11;
    /** Version register: an integrated APIC (version 14H) with 6 LVT entries (Max LVT Entry = 5), SDM 11.4.8. */
    public static final int VERSION_VALUE = 0x14 | 5 << 16;

    /** LVT bits (SDM 11.5.1, Figure 11-8). */
    public static final int LVT_MASKED = 1 << 16, LVT_DELIVERY_STATUS = 1 << 12;
    /** LVT timer mode, bits 18:17 (Table 11-2). */
    public static final int TIMER_ONE_SHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2;
    /** SVR bits (SDM 11.9, Figure 11-23): APIC software enable (8) and focus processor checking (9). */
    public static final int SVR_APIC_ENABLED = 1 << 8, SVR_FOCUS_DISABLED = 1 << 9;
    /** ESR bits (SDM 11.5.3, Figure 11-9). */
    public static final int ESR_SEND_ILLEGAL_VECTOR = 1 << 5, ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6,
            ESR_ILLEGAL_REGISTER_ADDRESS = 1 << 7;

    /** LVT entries in register order 320H-370H; the writable bits of each (Figure 11-8). */
    private static final int LVTS = 6;
    private static final int[] LVT_WRITABLE = {
            0x700FF,    // timer: vector, mask, timer mode
            0x107FF,    // thermal: vector, delivery mode, mask
            0x107FF,    // performance monitoring counters
            0x1A7FF,    // LINT0: vector, delivery mode, polarity, trigger mode, mask (remote IRR is read-only)
            0x1A7FF,    // LINT1
            0x100FF};   // error: vector, mask
    private static final int SVR_WRITABLE = 0x3FF;
    /** x2APIC ICR: vector, delivery mode, destination mode, level, trigger mode, shorthand, destination (Figure 11-28). */
    private static final long X2APIC_ICR_WRITABLE = 0xFFFF_FFFF_000C_CFFFL;
    private static final int XAPIC_ICR_LOW_WRITABLE = 0x000C_CFFF;

    private final int initialApicId;
    private final long tscPerTick;
    private final long physicalAddressReserved;
    private final Runnable nmi;
    private InterruptLine lint0;

    private long apicBase;
    private int id;               // the ID register as read in xAPIC mode (ID in bits 31:24)
    private int tpr;
    private int ldr;
    private int dfr;
    private int svr;
    private int esr;              // as last latched by a write of the ESR
    private int errors;           // detected since that write
    private long icr;
    private final int[] lvt = new int[LVTS];
    private final int[] irr = new int[8];
    private final int[] isr = new int[8];
    private final int[] tmr = new int[8];

    // ---- the timer (SDM 11.5.4) ----
    private int divideConfiguration;
    private long initialCount;
    /** One-shot/periodic: counting since segmentTsc from segmentCount; the next expiry (Long.MAX_VALUE: stopped). */
    private long segmentTsc;
    private long segmentCount;
    private long timerExpiry = Long.MAX_VALUE;
    private long tscDeadline;

    /**
     * @param initialApicId       the APIC ID hardware assigns (CPUID.01H:EBX[31:24], the x2APIC ID)
     * @param tscPerTick          TSC ticks per tick of the timer's input clock (before the divider); at least 1
     * @param physicalAddressBits MAXPHYADDR: IA32_APIC_BASE bits from here up are reserved
     * @param nmi                 delivers an NMI to the processor (an NMI IPI to self)
     */
    public LocalApic(int initialApicId, long tscPerTick, int physicalAddressBits, Runnable nmi) {
        if (tscPerTick < 1) {
            throw new IllegalArgumentException("the APIC timer clock needs at least 1 TSC tick per tick: " + tscPerTick);
        }
        if (physicalAddressBits < 32 || physicalAddressBits > 52) {
            throw new IllegalArgumentException("MAXPHYADDR must be 32-52: " + physicalAddressBits);
        }
        this.initialApicId = initialApicId;
        this.tscPerTick = tscPerTick;
        this.physicalAddressReserved = -1L << physicalAddressBits;
        this.nmi = nmi;
        apicBase = DEFAULT_BASE | BASE_EN | BASE_BSP;
        reset();
    }

    /** The 8259A's INTR arrives at LINT0 (see the class comment). */
    public void connectLint0(InterruptLine line) {
        lint0 = line;
    }

    public boolean lint0Connected() {
        return lint0 != null;
    }

    /**
     * Whether the 8259A's INTR reaches the processor: LVT LINT0 unmasked with delivery mode ExtINT (111B, SDM 11.5.1),
     * or the APIC globally disabled, when LINT0 is the processor's INTR pin (SDM 11.4.3).
     */
    private boolean extIntPasses() {
        if (lint0 == null) {
            return false;
        }
        int l = lvt[(LVT_LINT0 - LVT_TIMER) >> 4];
        return !enabled() || ((l & LVT_MASKED) == 0 && (l >> 8 & 7) == 7);
    }

    /** The power-up state of the registers (SDM 11.4.7.1); IA32_APIC_BASE is not among them. */
    private void reset() {
        id = initialApicId << 24;
        tpr = 0;
        ldr = 0;
        dfr = 0xFFFF_FFFF;
        svr = 0xFF;
        esr = 0;
        errors = 0;
        icr = 0;
        java.util.Arrays.fill(lvt, LVT_MASKED);
        java.util.Arrays.fill(irr, 0);
        java.util.Arrays.fill(isr, 0);
        java.util.Arrays.fill(tmr, 0);
        divideConfiguration = 0;
        initialCount = 0;
        timerExpiry = Long.MAX_VALUE;
        tscDeadline = 0;
    }

    // ================================================================== modes and IA32_APIC_BASE

    public long apicBase() {
        return apicBase;
    }

    /** The xAPIC page's guest-physical address. */
    public long baseAddress() {
        return apicBase & ~0xFFFL & ~physicalAddressReserved;
    }

    /** EN = 1 (SDM 11.4.3). */
    public boolean enabled() {
        return (apicBase & BASE_EN) != 0;
    }

    /** EN = 1, EXTD = 1 (SDM 11.12.1). */
    public boolean x2ApicMode() {
        return (apicBase & (BASE_EN | BASE_EXTD)) == (BASE_EN | BASE_EXTD);
    }

    /** EN = 1, EXTD = 0: the memory-mapped interface is the one that works. */
    public boolean xApicMode() {
        return (apicBase & (BASE_EN | BASE_EXTD)) == BASE_EN;
    }

    /** SVR bit 8 (SDM 11.4.7.2). */
    public boolean softwareEnabled() {
        return (svr & SVR_APIC_ENABLED) != 0;
    }

    /**
     * WRMSR IA32_APIC_BASE: reserved bits (7:0, 9, MAXPHYADDR and above) and the transitions Figure 11-27 forbids
     * (EN = 0 with EXTD = 1; x2APIC to xAPIC; disabled to x2APIC) are #GP (SDM 11.12.5). Leaving the enabled states
     * resets the APIC to its power-up state; entering x2APIC mode makes the ID the x2APIC ID and derives the logical ID
     * (11.12.5.1, 11.12.10.2).
     */
    public void writeApicBase(long value) throws ApicFault {
        long reserved = physicalAddressReserved | 0x2FFL;
        if ((value & reserved) != 0) {
            throw new ApicFault(String.format("IA32_APIC_BASE %#x sets reserved bits %#x", value, value & reserved));
        }
        boolean en = (value & BASE_EN) != 0, extd = (value & BASE_EXTD) != 0;
        if (extd && !en) {
            throw new ApicFault("IA32_APIC_BASE: EXTD = 1 with EN = 0 is an invalid state (SDM 11.12.5)");
        }
        if (x2ApicMode() && en && !extd) {
            throw new ApicFault("IA32_APIC_BASE: x2APIC mode can be left only by disabling the APIC (SDM 11.12.5)");
        }
        if (!enabled() && en && extd) {
            throw new ApicFault("IA32_APIC_BASE: a disabled APIC goes to xAPIC mode before x2APIC mode (SDM 11.12.5)");
        }
        boolean wasX2 = x2ApicMode();
        if (enabled() && !en) {
            reset();
        }
        apicBase = value;
        if (!wasX2 && x2ApicMode()) {
            id = initialApicId;
            ldr = (initialApicId >>> 4) << 16 | 1 << (initialApicId & 0xF);
        }
    }

    // ================================================================== the xAPIC interface (memory-mapped)

    /**
     * A 32-bit read at {@code offset} of the xAPIC page (SDM 11.4.1: registers are 16-byte aligned; other accesses
     * are undefined, so they read 0 here). Registers that do not exist read 0 and set "illegal register address" in
     * the ESR (11.5.3).
     */
    public int readMmio(int offset, long tsc) {
        if ((offset & 0xF) != 0 || !xApicMode()) {
            return 0;
        }
        advanceTo(tsc);
        return switch (offset) {
            case ID -> id;
            case VERSION -> VERSION_VALUE;
            case TPR -> tpr;
            case APR -> arbitrationPriority();
            case PPR -> processorPriority();
            case LDR -> ldr;
            case DFR -> dfr;
            case SVR -> svr;
            case ESR -> esr;
            case ICR_LOW -> (int) icr;
            case ICR_HIGH -> (int) (icr >>> 32);
            case TIMER_INITIAL_COUNT -> (int) initialCount;
            case TIMER_CURRENT_COUNT -> (int) currentCount(tsc);
            case DIVIDE_CONFIGURATION -> divideConfiguration;
            default -> {
                if (offset >= ISR && offset < ISR + 0x80) {
                    yield isr[(offset - ISR) >> 4];
                }
                if (offset >= TMR && offset < TMR + 0x80) {
                    yield tmr[(offset - TMR) >> 4];
                }
                if (offset >= IRR && offset < IRR + 0x80) {
                    yield irr[(offset - IRR) >> 4];
                }
                if (offset >= LVT_TIMER && offset <= LVT_ERROR) {
                    yield lvt[(offset - LVT_TIMER) >> 4];
                }
                // EOI is write-only; RRD, CMCI and the rest are not implemented
                if (offset != EOI) {
                    error(ESR_ILLEGAL_REGISTER_ADDRESS);
                }
                yield 0;
            }
        };
    }

    /**
     * A 32-bit write at {@code offset} of the xAPIC page. Reserved bits are ignored and read-only registers keep their
     * value (xAPIC mode has no #GP); a register that does not exist sets "illegal register address" in the ESR.
     */
    public void writeMmio(int offset, int value, long tsc) {
        if ((offset & 0xF) != 0 || !xApicMode()) {
            return;
        }
        advanceTo(tsc);
        switch (offset) {
            case ID -> id = value & 0xFF00_0000;
            case TPR -> tpr = value & 0xFF;
            case EOI -> endOfInterrupt();
            case LDR -> ldr = value & 0xFF00_0000;
            case DFR -> dfr = value | 0x0FFF_FFFF;
            case SVR -> writeSvr(value & SVR_WRITABLE);
            case ESR -> latchErrors();
            case ICR_LOW -> {
                icr = (icr & 0xFFFF_FFFF_0000_0000L) | (value & XAPIC_ICR_LOW_WRITABLE);
                sendIpi(icr, false);
            }
            case ICR_HIGH -> icr = (icr & 0xFFFF_FFFFL) | ((long) (value & 0xFF00_0000) << 32);
            case TIMER_INITIAL_COUNT -> writeInitialCount(value & 0xFFFF_FFFFL, tsc);
            case DIVIDE_CONFIGURATION -> writeDivideConfiguration(value & 0xB, tsc);
            case VERSION, APR, PPR, TIMER_CURRENT_COUNT -> { } // read-only
            default -> {
                if (offset >= LVT_TIMER && offset <= LVT_ERROR) {
                    writeLvt((offset - LVT_TIMER) >> 4, value);
                } else if (!(offset >= ISR && offset < IRR + 0x80)) { // ISR, TMR, IRR are read-only
                    error(ESR_ILLEGAL_REGISTER_ADDRESS);
                }
            }
        }
    }

    // ================================================================== the x2APIC interface (MSRs)

    /** Whether {@code msr} is in the x2APIC range 800H-8FFH. */
    public static boolean isX2ApicMsr(int msr) {
        return msr >= 0x800 && msr <= 0x8FF;
    }

    /**
     * RDMSR of an x2APIC register (SDM 11.12.1.2, Table 11-6): #GP outside x2APIC mode, for a register that does not
     * exist in x2APIC mode, and for the write-only EOI and SELF IPI registers. 32-bit registers read 0 in 63:32.
     */
    public long readMsr(int msr, long tsc) throws ApicFault {
        requireX2Apic(msr);
        advanceTo(tsc);
        int offset = (msr - 0x800) << 4;
        return switch (offset) {
            case ID -> id & 0xFFFF_FFFFL;
            case VERSION -> VERSION_VALUE;
            case TPR -> tpr;
            case PPR -> processorPriority();
            case LDR -> ldr & 0xFFFF_FFFFL;
            case SVR -> svr;
            case ESR -> esr;
            case ICR_LOW -> icr;
            case TIMER_INITIAL_COUNT -> initialCount;
            case TIMER_CURRENT_COUNT -> currentCount(tsc);
            case DIVIDE_CONFIGURATION -> divideConfiguration;
            default -> {
                if (offset >= ISR && offset < ISR + 0x80) {
                    yield isr[(offset - ISR) >> 4] & 0xFFFF_FFFFL;
                }
                if (offset >= TMR && offset < TMR + 0x80) {
                    yield tmr[(offset - TMR) >> 4] & 0xFFFF_FFFFL;
                }
                if (offset >= IRR && offset < IRR + 0x80) {
                    yield irr[(offset - IRR) >> 4] & 0xFFFF_FFFFL;
                }
                if (offset >= LVT_TIMER && offset <= LVT_ERROR) {
                    yield lvt[(offset - LVT_TIMER) >> 4];
                }
                throw new ApicFault(String.format("RDMSR %#x: %s in x2APIC mode", msr,
                        offset == EOI || offset == SELF_IPI ? "a write-only register" : "no such register"));
            }
        };
    }

    /**
     * WRMSR of an x2APIC register: #GP outside x2APIC mode, for a read-only or missing register, and for a 1 in a
     * reserved bit (SDM 11.12.1.3), which for EOI and ESR means any value but 0. Only the ICR is 64 bits wide.
     */
    public void writeMsr(int msr, long value, long tsc) throws ApicFault {
        requireX2Apic(msr);
        advanceTo(tsc);
        int offset = (msr - 0x800) << 4;
        if (offset == ICR_LOW) {
            reserved(msr, value, X2APIC_ICR_WRITABLE);
            icr = value;
            sendIpi(value, true);
            return;
        }
        switch (offset) {
            case TPR -> tpr = (int) reserved(msr, value, 0xFF);
            case EOI -> {
                reserved(msr, value, 0);
                endOfInterrupt();
            }
            case SVR -> writeSvr((int) reserved(msr, value, SVR_WRITABLE));
            case ESR -> {
                reserved(msr, value, 0);
                latchErrors();
            }
            case TIMER_INITIAL_COUNT -> writeInitialCount(reserved(msr, value, 0xFFFF_FFFFL), tsc);
            case DIVIDE_CONFIGURATION -> writeDivideConfiguration((int) reserved(msr, value, 0xB), tsc);
            case SELF_IPI -> accept((int) reserved(msr, value, 0xFF));
            default -> {
                if (offset >= LVT_TIMER && offset <= LVT_ERROR) {
                    int index = (offset - LVT_TIMER) >> 4;
                    writeLvt(index, (int) reserved(msr, value, LVT_WRITABLE[index]));
                    return;
                }
                boolean readOnly = offset == ID || offset == VERSION || offset == PPR || offset == LDR
                        || offset == TIMER_CURRENT_COUNT || (offset >= ISR && offset < IRR + 0x80);
                throw new ApicFault(String.format("WRMSR %#x: %s in x2APIC mode", msr,
                        readOnly ? "a read-only register" : "no such register"));
            }
        }
    }

    private void requireX2Apic(int msr) throws ApicFault {
        if (!x2ApicMode()) {
            throw new ApicFault(String.format("MSR %#x: the local APIC is not in x2APIC mode (SDM 11.12.2)", msr));
        }
    }

    private static long reserved(int msr, long value, long writable) throws ApicFault {
        if ((value & ~writable) != 0) {
            throw new ApicFault(String.format("WRMSR %#x: %#x sets reserved bits %#x (SDM 11.12.1.3)", msr, value,
                    value & ~writable));
        }
        return value;
    }

    // ================================================================== IA32_TSC_DEADLINE (SDM 11.5.4.1)

    /** RDMSR IA32_TSC_DEADLINE: the armed deadline in TSC-deadline mode (0 once it fired), otherwise 0. */
    public long readTscDeadline(long tsc) {
        advanceTo(tsc);
        return timerMode() == TIMER_TSC_DEADLINE ? tscDeadline : 0;
    }

    /** WRMSR IA32_TSC_DEADLINE: arms (non-zero) or disarms (0) the timer in TSC-deadline mode; ignored otherwise. */
    public void writeTscDeadline(long value, long tsc) {
        if (timerMode() != TIMER_TSC_DEADLINE || !enabled()) {
            return;
        }
        tscDeadline = value;
        advanceTo(tsc); // a deadline already passed fires at once
    }

    // ================================================================== priorities and delivery (SDM 11.8)

    /** PPR (SDM 11.8.3.1): the TPR if its class is at least the highest in-service class, else that class. */
    public int processorPriority() {
        int isrv = highest(isr);
        int isrClass = isrv < 0 ? 0 : isrv & 0xF0;
        return (tpr & 0xF0) >= isrClass ? tpr & 0xFF : isrClass;
    }

    /** CR8 as MOV from CR8 reads it: TPR[7:4] (SDM 11.8.6). */
    public long cr8() {
        return tpr >>> 4;
    }

    /**
     * MOV to CR8: TPR[7:4] = bits 3:0, TPR[3:0] = 0 (SDM 11.8.6); the caller has checked that bits 63:4 are 0 (#GP
     * otherwise, Vol. 2B "MOV—Move to/from Control Registers").
     */
    public void writeCr8(long value) {
        tpr = (int) (value & 0xF) << 4;
    }

    /** APR (SDM 11.8.2, P6 family form): the TPR if its class is at least the highest IRR and ISR classes. */
    private int arbitrationPriority() {
        int irrClass = Math.max(highest(irr), 0) & 0xF0;
        int isrClass = Math.max(highest(isr), 0) & 0xF0;
        if ((tpr & 0xF0) >= irrClass && (tpr & 0xF0) > isrClass) {
            return tpr & 0xFF;
        }
        return Math.max(tpr & 0xF0, Math.max(irrClass, isrClass));
    }

    @Override
    public int pendingInterrupt() {
        if (extIntPasses()) {
            int v = lint0.pendingInterrupt();
            if (v >= 0) {
                return v;
            }
        }
        if (!enabled()) {
            return -1;
        }
        int v = highest(irr);
        return v >= 0 && (v & 0xF0) > (processorPriority() & 0xF0) ? v : -1;
    }

    /**
     * INTA: the pending vector moves from IRR to ISR. If nothing is pending any more (the TPR was raised in between),
     * the answer is the spurious-interrupt vector and ISR is untouched (SDM 11.9).
     */
    @Override
    public int acknowledgeInterrupt() {
        if (extIntPasses() && lint0.pendingInterrupt() >= 0) {
            return lint0.acknowledgeInterrupt(); // the INTA cycle goes to the 8259A
        }
        int v = pendingInterrupt();
        if (v < 0) {
            return svr & 0xFF;
        }
        clear(irr, v);
        set(isr, v);
        return v;
    }

    /** EOI: the highest in-service interrupt is done (SDM 11.8.5). Edge-triggered only: no EOI message to send. */
    private void endOfInterrupt() {
        int v = highest(isr);
        if (v >= 0) {
            clear(isr, v);
            clear(tmr, v);
        }
    }

    /**
     * A fixed, edge-triggered interrupt arrives (from the LVT or an IPI): it is requested in the IRR. Vectors 0-15 are
     * illegal (SDM 11.5.2): "receive illegal vector" instead. A software-disabled APIC takes no new interrupts
     * (11.4.7.2); a globally disabled one nothing at all.
     */
    private void accept(int vector) {
        if (!enabled() || !softwareEnabled()) {
            return;
        }
        if (vector < 16) {
            error(ESR_RECEIVE_ILLEGAL_VECTOR);
            return;
        }
        set(irr, vector);
        clear(tmr, vector);
    }

    /** An error is detected: recorded for the next ESR write, signalled through the error LVT (SDM 11.5.3). */
    private void error(int bit) {
        int before = errors;
        errors |= bit;
        int lvtError = lvt[5];
        if (errors != before && (lvtError & LVT_MASKED) == 0 && (lvtError & 0xFF) >= 16) {
            accept(lvtError & 0xFF);
        }
    }

    private void latchErrors() {
        esr = errors;
        errors = 0;
    }

    private void writeSvr(int value) {
        svr = value;
        if (!softwareEnabled()) {
            for (int i = 0; i < LVTS; i++) {
                lvt[i] |= LVT_MASKED; // SDM 11.4.7.2: software disable masks every LVT entry
            }
        }
    }

    private void writeLvt(int index, int value) {
        int v = value & LVT_WRITABLE[index];
        if (!softwareEnabled()) {
            v |= LVT_MASKED; // the mask cannot be cleared while software-disabled (11.4.7.2)
        }
        if (index == 0) {
            int mode = (v >>> 17) & 3;
            if (mode == 3) {
                mode = timerMode(); // reserved (Table 11-2): the mode does not change
                v = (v & ~(3 << 17)) | mode << 17;
            }
            if ((mode == TIMER_TSC_DEADLINE) != (timerMode() == TIMER_TSC_DEADLINE)) {
                // 11.5.4.1: a transition between TSC-deadline mode and the other modes disarms the timer
                tscDeadline = 0;
                initialCount = 0;
                timerExpiry = Long.MAX_VALUE;
            }
        }
        lvt[index] = (lvt[index] & ~LVT_WRITABLE[index]) | v;
    }

    // ================================================================== the ICR (SDM 11.6.1)

    /**
     * Sends the IPI the ICR describes. This processor is the only one: a fixed or lowest-priority IPI reaches it when
     * the shorthand or the destination names it; an NMI goes to the processor; INIT, SIPI and SMI to itself are not
     * modelled. Vectors 0-15 of a fixed IPI are "send illegal vector" errors (11.5.3).
     */
    private void sendIpi(long command, boolean x2Apic) {
        int vector = (int) command & 0xFF;
        int mode = (int) (command >>> 8) & 7;
        boolean logical = (command & 1 << 11) != 0;
        int shorthand = (int) (command >>> 18) & 3;
        long destination = x2Apic ? command >>> 32 : (command >>> 56) & 0xFF;
        boolean toSelf = switch (shorthand) {
            case 1, 2 -> true;                 // self, all including self
            case 3 -> false;                   // all excluding self: no one else is there
            default -> logical ? logicalMatch(destination, x2Apic) : physicalMatch(destination, x2Apic);
        };
        if ((mode == 0 || mode == 1) && vector < 16) {
            error(ESR_SEND_ILLEGAL_VECTOR);
            return;
        }
        if (!toSelf) {
            return;
        }
        switch (mode) {
            case 0, 1 -> accept(vector);       // fixed, lowest priority (the only candidate is this processor)
            case 4 -> nmi.run();
            default -> throw new IllegalStateException(String.format(
                    "the guest sent itself an IPI with delivery mode %d (ICR %#x): INIT, SIPI and SMI to this "
                            + "processor are not modelled", mode, command));
        }
    }

    private boolean physicalMatch(long destination, boolean x2Apic) {
        long broadcast = x2Apic ? 0xFFFF_FFFFL : 0xFF;
        long self = x2Apic ? id & 0xFFFF_FFFFL : (id >>> 24) & 0xFF;
        return destination == broadcast || destination == self;
    }

    /** Logical destinations (SDM 11.6.2.2, 11.12.10.1): flat or cluster model in xAPIC mode, clusters in x2APIC mode. */
    private boolean logicalMatch(long destination, boolean x2Apic) {
        if (x2Apic) {
            return destination == 0xFFFF_FFFFL
                    || ((destination >>> 16) == (ldr >>> 16) && (destination & ldr & 0xFFFF) != 0);
        }
        int logicalId = (ldr >>> 24) & 0xFF;
        if (destination == 0xFF) {
            return true;
        }
        if ((dfr >>> 28) == 0xF) { // flat model: a bit mask
            return (destination & logicalId) != 0;
        }
        return (destination >>> 4) == (logicalId >>> 4) && (destination & logicalId & 0xF) != 0; // cluster model
    }

    // ================================================================== the timer (SDM 11.5.4)

    /** LVT timer bits 18:17. */
    public int timerMode() {
        return (lvt[0] >>> 17) & 3;
    }

    /** The divide value of the divide configuration register (Figure 11-10): bits 3, 1:0 select 2^(n+1), 111 is 1. */
    public int divideValue() {
        int n = (divideConfiguration & 3) | (divideConfiguration >>> 1) & 4;
        return n == 7 ? 1 : 2 << n;
    }

    private long tscPerCount() {
        return tscPerTick * divideValue();
    }

    private void writeInitialCount(long count, long tsc) {
        if (timerMode() == TIMER_TSC_DEADLINE) {
            return; // 11.5.4.1: writes to the initial-count register are ignored in TSC-deadline mode
        }
        initialCount = count;
        startSegment(count, tsc);
    }

    /** The timer counts down from {@code count} starting now; 0 stops it (SDM 11.5.4). */
    private void startSegment(long count, long tsc) {
        segmentTsc = tsc;
        segmentCount = count;
        timerExpiry = count == 0 ? Long.MAX_VALUE : tsc + count * tscPerCount();
    }

    /** A new divide value applies from now on: the count reached so far goes on at the new rate. */
    private void writeDivideConfiguration(int value, long tsc) {
        long current = timerExpiry == Long.MAX_VALUE ? 0 : currentCount(tsc);
        divideConfiguration = value;
        if (timerExpiry != Long.MAX_VALUE) {
            startSegment(current, tsc);
        }
    }

    /** The current-count register: 0 when stopped, after a one-shot expired, and in TSC-deadline mode. */
    public long currentCount(long tsc) {
        if (timerExpiry == Long.MAX_VALUE || timerMode() == TIMER_TSC_DEADLINE) {
            return 0;
        }
        long elapsed = (tsc - segmentTsc) / tscPerCount();
        if (elapsed < segmentCount) {
            return segmentCount - elapsed;
        }
        if (timerMode() == TIMER_PERIODIC && initialCount != 0) {
            return initialCount - (elapsed - segmentCount) % initialCount;
        }
        return 0;
    }

    /** The guest TSC at which the timer next fires, or {@link Long#MAX_VALUE} if it is not armed. */
    public long nextTimerEvent() {
        if (!enabled()) {
            return Long.MAX_VALUE;
        }
        if (timerMode() == TIMER_TSC_DEADLINE) {
            return tscDeadline == 0 ? Long.MAX_VALUE : tscDeadline;
        }
        return timerExpiry;
    }

    /**
     * Time has reached {@code tsc}: the timer fires if it was due. A periodic timer fires once however many periods
     * passed (an interrupt already requested in the IRR is not requested twice) and goes on from the last period
     * boundary; a one-shot timer stops at 0; an expired TSC deadline becomes 0 (SDM 11.5.4, 11.5.4.1). A masked LVT
     * timer entry suppresses the interrupt, not the counting.
     */
    public void advanceTo(long tsc) {
        if (!enabled()) {
            return;
        }
        if (timerMode() == TIMER_TSC_DEADLINE) {
            if (tscDeadline != 0 && Long.compareUnsigned(tsc, tscDeadline) >= 0) {
                tscDeadline = 0;
                timerInterrupt();
            }
            return;
        }
        if (tsc < timerExpiry) {
            return;
        }
        if (timerMode() == TIMER_PERIODIC && initialCount != 0) {
            long period = initialCount * tscPerCount();
            long firstExpiry = segmentTsc + segmentCount * tscPerCount();
            long periods = (tsc - firstExpiry) / period;
            segmentTsc = firstExpiry + periods * period;
            segmentCount = initialCount;
            timerExpiry = segmentTsc + period;
        } else {
            timerExpiry = Long.MAX_VALUE;
        }
        timerInterrupt();
    }

    private void timerInterrupt() {
        int entry = lvt[0];
        if ((entry & LVT_MASKED) == 0) {
            accept(entry & 0xFF);
        }
    }

    // ================================================================== 256-bit registers

    /** Whether {@code vector} is requested (IRR) / in service (ISR): for tests and inspection. */
    public boolean requested(int vector) {
        return (irr[vector >>> 5] & 1 << (vector & 31)) != 0;
    }

    public boolean inService(int vector) {
        return (isr[vector >>> 5] & 1 << (vector & 31)) != 0;
    }

    private static int highest(int[] bits) {
        for (int i = 7; i >= 0; i--) {
            if (bits[i] != 0) {
                return i * 32 + 31 - Integer.numberOfLeadingZeros(bits[i]);
            }
        }
        return -1;
    }

    private static void set(int[] bits, int v) {
        bits[v >>> 5] |= 1 << (v & 31);
    }

    private static void clear(int[] bits, int v) {
        bits[v >>> 5] &= ~(1 << (v & 31));
    }
}
