package io.jvmx.apic;

import static io.jvmx.apic.LocalApic.*;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/**
 * The local APIC's register model against SDM Vol. 3A chapter 11: register offsets (Table 11-1) and the x2APIC MSR
 * map (11.12.1.2, Table 11-6), the #GP rules of x2APIC mode (11.12.1.3, 11.12.2), IA32_APIC_BASE's state transitions
 * (11.12.5), priorities (11.8.3.1), IRR/ISR/EOI (11.8.4, 11.8.5), the LVT and software disable (11.5.1, 11.4.7.2),
 * the ESR (11.5.3), the ICR (11.6.1) and the timer (11.5.4, 11.5.4.1). Time is the TSC the tests pass in; the timer
 * clock is one tick per TSC tick unless a test says otherwise.
 */
public class LocalApicTest {
    private int nmis;

    private LocalApic apic() {
        return apic(1);
    }

    private LocalApic apic(long tscPerTick) {
        LocalApic a = new LocalApic(0, tscPerTick, 46, () -> nmis++);
        a.writeMmio(SVR, 0x1FF, 0); // software-enabled, spurious vector FFH
        return a;
    }

    private static LocalApic x2(LocalApic a) throws ApicFault {
        a.writeApicBase(a.apicBase() | BASE_EXTD);
        return a;
    }

    private static int msr(int offset) {
        return 0x800 + (offset >> 4);
    }

    // ---- reset state, registers (11.4.7.1, Table 11-1) ----

    @Test
    public void powerUpState() {
        LocalApic a = new LocalApic(0, 1, 46, () -> { });
        assertEquals(DEFAULT_BASE | BASE_EN | BASE_BSP, a.apicBase());
        assertEquals(0xFF, a.readMmio(SVR, 0));
        assertEquals(0xFFFF_FFFF, a.readMmio(DFR, 0));
        for (int lvt = LVT_TIMER; lvt <= LVT_ERROR; lvt += 0x10) {
            assertEquals("LVT " + Integer.toHexString(lvt) + " masked", LVT_MASKED, a.readMmio(lvt, 0));
        }
        assertEquals(0x14 | 5 << 16, a.readMmio(VERSION, 0));
        assertEquals(-1, a.pendingInterrupt());
    }

    @Test
    public void theIdRegisterHoldsTheInitialApicIdInBits31To24() {
        assertEquals(7 << 24, new LocalApic(7, 1, 46, () -> { }).readMmio(ID, 0));
    }

    @Test
    public void readOnlyRegistersKeepTheirValueInXapicMode() {
        LocalApic a = apic();
        a.writeMmio(VERSION, 0, 0);
        a.writeMmio(PPR, 0xF0, 0);
        a.writeMmio(IRR + 0x20, -1, 0);
        assertEquals(VERSION_VALUE, a.readMmio(VERSION, 0));
        assertEquals(0, a.readMmio(PPR, 0));
        assertEquals(0, a.readMmio(IRR + 0x20, 0));
    }

    /** 11.5.3: an access to a register that does not exist is an "illegal register address" error. */
    @Test
    public void aMissingRegisterReadsZeroAndSetsIllegalRegisterAddress() {
        LocalApic a = apic();
        assertEquals(0, a.readMmio(LVT_CMCI, 0));
        a.writeMmio(ESR, 0, 0);
        assertEquals(ESR_ILLEGAL_REGISTER_ADDRESS, a.readMmio(ESR, 0));
        a.writeMmio(ESR, 0, 0);
        assertEquals("the next write latches what happened since: nothing", 0, a.readMmio(ESR, 0));
    }

    @Test
    public void accessesThatAreNotAtA16ByteBoundaryDoNothing() {
        LocalApic a = apic();
        a.writeMmio(TPR + 4, 0x30, 0);
        assertEquals(0, a.readMmio(TPR, 0));
        assertEquals(0, a.readMmio(VERSION + 4, 0));
    }

    // ---- priorities, IRR, ISR, EOI (11.8) ----

    @Test
    public void pprIsTheTprUnlessTheInServiceClassIsHigher() {
        LocalApic a = apic();
        a.writeMmio(TPR, 0x25, 0);
        assertEquals(0x25, a.processorPriority());
        selfIpi(a, 0x51);
        assertEquals(0x51, a.acknowledgeInterrupt());
        assertEquals("ISRV class 5 > TPR class 2", 0x50, a.processorPriority());
        a.writeMmio(TPR, 0x57, 0);
        assertEquals("TPR class 5 = ISRV class 5: the TPR", 0x57, a.processorPriority());
    }

    @Test
    public void anInterruptIsPresentedOnlyAbovePprAndAcknowledgeMovesItToIsr() {
        LocalApic a = apic();
        a.writeMmio(TPR, 0x40, 0);
        selfIpi(a, 0x45);
        assertTrue(a.requested(0x45));
        assertEquals("class 4 is not above TPR class 4", -1, a.pendingInterrupt());
        selfIpi(a, 0x61);
        assertEquals(0x61, a.pendingInterrupt());
        assertEquals(0x61, a.acknowledgeInterrupt());
        assertFalse(a.requested(0x61));
        assertTrue(a.inService(0x61));
        assertEquals(-1, a.pendingInterrupt());
        a.writeMmio(EOI, 0, 0);
        assertFalse(a.inService(0x61));
        a.writeMmio(TPR, 0, 0);
        assertEquals(0x45, a.pendingInterrupt());
    }

    @Test
    public void eoiEndsTheHighestInServiceInterruptAndNestedOnesComeBack() {
        LocalApic a = apic();
        selfIpi(a, 0x30);
        assertEquals(0x30, a.acknowledgeInterrupt());
        selfIpi(a, 0x90);
        assertEquals("a higher class interrupts the handler of 30H", 0x90, a.acknowledgeInterrupt());
        selfIpi(a, 0x35);
        assertEquals(-1, a.pendingInterrupt());
        a.writeMmio(EOI, 0, 0);
        assertFalse(a.inService(0x90));
        assertTrue(a.inService(0x30));
        assertEquals("35H is in the class of 30H, still in service", -1, a.pendingInterrupt());
        a.writeMmio(EOI, 0, 0);
        assertEquals(0x35, a.pendingInterrupt());
    }

    /** 11.9: an INTA with nothing above the PPR any more answers the spurious vector and leaves ISR alone. */
    @Test
    public void acknowledgeWithNothingPendingIsTheSpuriousVector() {
        LocalApic a = apic();
        assertEquals(0xFF, a.acknowledgeInterrupt());
        assertFalse(a.inService(0xFF));
        assertEquals(0, a.processorPriority());
    }

    @Test
    public void irrIsrAndTmrReadAsEightRegistersOf32Bits() {
        LocalApic a = apic();
        selfIpi(a, 0x21);
        selfIpi(a, 0xE7);
        assertEquals(1 << 1, a.readMmio(IRR + 0x10, 0));
        assertEquals(1 << 7, a.readMmio(IRR + 0x70, 0));
        assertEquals(0xE7, a.acknowledgeInterrupt());
        assertEquals(1 << 7, a.readMmio(ISR + 0x70, 0));
        assertEquals(0, a.readMmio(TMR + 0x70, 0));
    }

    // ---- LVT, software disable, errors (11.5, 11.4.7.2) ----

    @Test
    public void softwareDisableMasksEveryLvtEntryAndTakesNoNewInterrupts() {
        LocalApic a = apic();
        a.writeMmio(LVT_TIMER, 0x40, 0);
        a.writeMmio(LVT_LINT0, 0x700, 0);
        a.writeMmio(SVR, 0xFF, 0);
        assertEquals(LVT_MASKED | 0x40, a.readMmio(LVT_TIMER, 0));
        a.writeMmio(LVT_ERROR, 0x33, 0);
        assertEquals("the mask cannot be cleared", LVT_MASKED | 0x33, a.readMmio(LVT_ERROR, 0));
        selfIpi(a, 0x50);
        assertFalse(a.requested(0x50));
    }

    @Test
    public void lvtEntriesKeepOnlyTheirBitsAndDeliveryStatusIsReadOnly() {
        LocalApic a = apic();
        a.writeMmio(LVT_TIMER, -1, 0);
        assertEquals("vector, mask, mode 11 (reserved) keeps the old mode", LVT_MASKED | 0xFF, a.readMmio(LVT_TIMER, 0));
        a.writeMmio(LVT_LINT0, -1, 0);
        assertEquals(0x1A7FF, a.readMmio(LVT_LINT0, 0));
        a.writeMmio(LVT_ERROR, -1, 0);
        assertEquals(0x100FF, a.readMmio(LVT_ERROR, 0));
    }

    @Test
    public void illegalVectorsAreErrorsSignalledThroughTheErrorLvt() {
        LocalApic a = apic();
        a.writeMmio(LVT_ERROR, 0xFE, 0);
        selfIpi(a, 3);
        assertFalse(a.requested(3));
        assertTrue("the error interrupt", a.requested(0xFE));
        a.writeMmio(ESR, 0, 0);
        assertEquals(ESR_SEND_ILLEGAL_VECTOR, a.readMmio(ESR, 0));
        a.writeMmio(LVT_TIMER, 0x05, 0);
        a.writeMmio(TIMER_INITIAL_COUNT, 10, 0); // divide by 2 after reset: 20 TSC ticks
        a.advanceTo(20);
        a.writeMmio(ESR, 0, 20);
        assertEquals("a timer with vector 5", ESR_RECEIVE_ILLEGAL_VECTOR, a.readMmio(ESR, 20));
    }

    // ---- the ICR (11.6.1) ----

    @Test
    public void icrDestinationsReachThisApicOnlyWhenTheyNameIt() {
        LocalApic a = apic();
        a.writeMmio(ICR_HIGH, 0, 0);
        a.writeMmio(ICR_LOW, 0x41, 0); // physical, APIC ID 0
        assertTrue(a.requested(0x41));
        a.writeMmio(ICR_HIGH, 3 << 24, 0);
        a.writeMmio(ICR_LOW, 0x42, 0);
        assertFalse("APIC ID 3 is no one", a.requested(0x42));
        a.writeMmio(ICR_LOW, 3 << 18 | 0x43, 0);
        assertFalse("all excluding self", a.requested(0x43));
        a.writeMmio(ICR_LOW, 2 << 18 | 0x44, 0);
        assertTrue("all including self", a.requested(0x44));
        a.writeMmio(LDR, 0x02 << 24, 0);
        a.writeMmio(ICR_HIGH, 0x06 << 24, 0);
        a.writeMmio(ICR_LOW, 1 << 11 | 0x45, 0); // logical, flat model: mask 06H meets logical ID 02H
        assertTrue(a.requested(0x45));
        a.writeMmio(ICR_HIGH, 0x01 << 24, 0);
        a.writeMmio(ICR_LOW, 1 << 11 | 0x46, 0);
        assertFalse(a.requested(0x46));
        assertEquals("delivery status 0: sent", 0, a.readMmio(ICR_LOW, 0) & LVT_DELIVERY_STATUS);
    }

    @Test
    public void anNmiToSelfGoesToTheProcessor() {
        LocalApic a = apic();
        a.writeMmio(ICR_LOW, 1 << 18 | 4 << 8, 0);
        assertEquals(1, nmis);
    }

    @Test
    public void anInitToSelfIsRefusedWithAClearMessage() {
        LocalApic a = apic();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> a.writeMmio(ICR_LOW, 2 << 18 | 5 << 8, 0));
        assertTrue(e.getMessage(), e.getMessage().contains("INIT, SIPI and SMI"));
    }

    // ---- x2APIC (11.12) ----

    @Test
    public void x2apicMsrsAre800hPlusTheOffsetDividedBy16() throws ApicFault {
        LocalApic a = x2(apic());
        a.writeMsr(0x808, 0x35, 0);
        assertEquals(0x35, a.readMsr(0x808, 0));
        assertEquals(VERSION_VALUE, a.readMsr(0x803, 0));
        assertEquals(0x1FF, a.readMsr(0x80F, 0));
        a.writeMsr(0x832, 0x40, 0);
        assertEquals(0x40, a.readMsr(msr(LVT_TIMER), 0));
    }

    @Test
    public void enteringX2apicModeGivesTheX2apicIdAndTheDerivedLogicalId() throws ApicFault {
        LocalApic a = new LocalApic(0x23, 1, 46, () -> { });
        x2(a);
        assertEquals(0x23, a.readMsr(0x802, 0));
        assertEquals("cluster 2, bit 3 (11.12.10.2)", 2 << 16 | 1 << 3, a.readMsr(0x80D, 0));
    }

    @Test
    public void x2apicMsrsOutsideX2apicModeAreGp() {
        LocalApic a = apic();
        assertThrows(ApicFault.class, () -> a.readMsr(0x808, 0));
        assertThrows(ApicFault.class, () -> a.writeMsr(0x808, 0, 0));
    }

    @Test
    public void writeOnlyReadOnlyAndMissingX2apicRegistersAreGp() throws ApicFault {
        LocalApic a = x2(apic());
        for (int m : new int[] {0x80B, 0x83F, 0x809, 0x80C, 0x80E, 0x82F, 0x831, 0x800, 0x83A, 0x8FF}) {
            assertThrows(String.format("RDMSR %#x", m), ApicFault.class, () -> a.readMsr(m, 0));
        }
        for (int m : new int[] {0x802, 0x803, 0x80A, 0x80D, 0x810, 0x818, 0x820, 0x839, 0x809, 0x80E, 0x831}) {
            assertThrows(String.format("WRMSR %#x", m), ApicFault.class, () -> a.writeMsr(m, 0, 0));
        }
    }

    /** 11.12.1.3: non-zero writes to reserved bits are #GP; EOI and ESR take only 0. */
    @Test
    public void reservedBitsInX2apicModeAreGp() throws ApicFault {
        LocalApic a = x2(apic());
        assertThrows(ApicFault.class, () -> a.writeMsr(0x808, 0x100, 0));
        assertThrows(ApicFault.class, () -> a.writeMsr(0x808, 1L << 32, 0));
        assertThrows(ApicFault.class, () -> a.writeMsr(0x80B, 1, 0));
        assertThrows(ApicFault.class, () -> a.writeMsr(0x828, 1, 0));
        assertThrows(ApicFault.class, () -> a.writeMsr(0x80F, 1 << 12, 0));
        assertThrows(ApicFault.class, () -> a.writeMsr(0x832, 1 << 12, 0));
        assertThrows(ApicFault.class, () -> a.writeMsr(0x83E, 4, 0));
        assertThrows(ApicFault.class, () -> a.writeMsr(0x830, 1 << 12, 0));
        assertThrows(ApicFault.class, () -> a.writeMsr(0x83F, 0x100, 0));
        a.writeMsr(0x80B, 0, 0);
        a.writeMsr(0x828, 0, 0);
    }

    @Test
    public void theX2apicIcrIs64BitsWithA32BitDestination() throws ApicFault {
        LocalApic a = x2(apic());
        a.writeMsr(0x830, 0x1_0000_0000L | 0x50, 0);
        assertFalse("APIC ID 1 is no one", a.requested(0x50));
        assertEquals(0x1_0000_0050L, a.readMsr(0x830, 0));
        a.writeMsr(0x830, 0xFFFF_FFFFL << 32 | 0x51, 0);
        assertTrue("broadcast", a.requested(0x51));
        a.writeMsr(0x83F, 0x52, 0);
        assertTrue("SELF IPI", a.requested(0x52));
    }

    @Test
    public void inX2apicModeTheMmioPageIsNotTheApics() throws ApicFault {
        LocalApic a = x2(apic());
        a.writeMmio(TPR, 0x30, 0);
        assertEquals(0, a.readMsr(0x808, 0));
        assertEquals(0, a.readMmio(SVR, 0));
    }

    // ---- IA32_APIC_BASE (11.4.4, 11.12.5) ----

    @Test
    public void apicBaseTransitionsFollowTheStateDiagram() throws ApicFault {
        LocalApic a = apic();
        assertThrows("EXTD without EN", ApicFault.class, () -> a.writeApicBase(DEFAULT_BASE | BASE_EXTD));
        assertThrows("reserved bit 9", ApicFault.class, () -> a.writeApicBase(a.apicBase() | 1 << 9));
        assertThrows("above MAXPHYADDR", ApicFault.class, () -> a.writeApicBase(a.apicBase() | 1L << 46));
        x2(a);
        assertTrue(a.x2ApicMode());
        assertThrows("x2APIC to xAPIC", ApicFault.class, () -> a.writeApicBase(DEFAULT_BASE | BASE_EN));
        a.writeApicBase(DEFAULT_BASE);
        assertFalse(a.enabled());
        assertThrows("disabled to x2APIC", ApicFault.class,
                () -> a.writeApicBase(DEFAULT_BASE | BASE_EN | BASE_EXTD));
        a.writeApicBase(0xFEC0_0000L | BASE_EN);
        assertTrue(a.xApicMode());
        assertEquals("the page moved", 0xFEC0_0000L, a.baseAddress());
    }

    @Test
    public void disablingResetsTheRegistersAndStopsInterrupts() throws ApicFault {
        LocalApic a = apic();
        a.writeMmio(TPR, 0x20, 0);
        selfIpi(a, 0x70);
        a.writeApicBase(DEFAULT_BASE);
        assertEquals(-1, a.pendingInterrupt());
        a.writeApicBase(DEFAULT_BASE | BASE_EN);
        assertEquals(0xFF, a.readMmio(SVR, 0));
        assertEquals(0, a.readMmio(TPR, 0));
        assertFalse(a.requested(0x70));
    }

    // ---- CR8 (11.8.6) ----

    @Test
    public void cr8IsTheTprsPriorityClass() {
        LocalApic a = apic();
        a.writeCr8(0xB);
        assertEquals(0xB0, a.readMmio(TPR, 0));
        a.writeMmio(TPR, 0x7C, 0);
        assertEquals(7, a.cr8());
    }

    // ---- the timer (11.5.4) ----

    @Test
    public void divideConfigurationSelectsTheDivider() {
        LocalApic a = apic();
        int[] config = {0b0000, 0b0001, 0b0010, 0b0011, 0b1000, 0b1001, 0b1010, 0b1011};
        int[] divide = {2, 4, 8, 16, 32, 64, 128, 1};
        for (int i = 0; i < config.length; i++) {
            a.writeMmio(DIVIDE_CONFIGURATION, config[i], 0);
            assertEquals("divide configuration " + Integer.toBinaryString(config[i]), divide[i], a.divideValue());
        }
        a.writeMmio(DIVIDE_CONFIGURATION, 0xFFFF_FFFF, 0);
        assertEquals("bits 0, 1 and 3 only", 0xB, a.readMmio(DIVIDE_CONFIGURATION, 0));
    }

    @Test
    public void oneShotCountsDownAtTheDividedClockFiresOnceAndStopsAtZero() {
        LocalApic a = apic(3);
        a.writeMmio(DIVIDE_CONFIGURATION, 0b0000, 0); // by 2: one count per 6 TSC ticks
        a.writeMmio(LVT_TIMER, 0x40, 0);
        a.writeMmio(TIMER_INITIAL_COUNT, 100, 1000);
        assertEquals(1600, a.nextTimerEvent());
        assertEquals(100, a.readMmio(TIMER_CURRENT_COUNT, 1000));
        assertEquals(90, a.readMmio(TIMER_CURRENT_COUNT, 1060));
        a.advanceTo(1599);
        assertFalse(a.requested(0x40));
        a.advanceTo(1600);
        assertTrue(a.requested(0x40));
        assertEquals(0, a.readMmio(TIMER_CURRENT_COUNT, 1700));
        assertEquals(Long.MAX_VALUE, a.nextTimerEvent());
        assertEquals(100, a.readMmio(TIMER_INITIAL_COUNT, 1700));
    }

    @Test
    public void periodicReloadsAndFiresEveryPeriodFromItsStart() {
        LocalApic a = apic();
        a.writeMmio(LVT_TIMER, 1 << 17 | 0x40, 0);
        a.writeMmio(DIVIDE_CONFIGURATION, 0xB, 0);
        a.writeMmio(TIMER_INITIAL_COUNT, 50, 0);
        a.advanceTo(50);
        assertEquals(0x40, a.acknowledgeInterrupt());
        a.writeMmio(EOI, 0, 50);
        assertEquals(100, a.nextTimerEvent());
        assertEquals(40, a.readMmio(TIMER_CURRENT_COUNT, 60));
        a.advanceTo(275); // four periods passed: one interrupt (IRR has one bit), the phase kept
        assertTrue(a.requested(0x40));
        assertEquals(300, a.nextTimerEvent());
        assertEquals(25, a.readMmio(TIMER_CURRENT_COUNT, 275));
        a.writeMmio(TIMER_INITIAL_COUNT, 0, 280);
        assertEquals("initial count 0 stops it", Long.MAX_VALUE, a.nextTimerEvent());
    }

    @Test
    public void aMaskedTimerCountsButRequestsNothing() {
        LocalApic a = apic();
        a.writeMmio(LVT_TIMER, LVT_MASKED | 1 << 17 | 0x40, 0);
        a.writeMmio(DIVIDE_CONFIGURATION, 0xB, 0);
        a.writeMmio(TIMER_INITIAL_COUNT, 10, 0);
        a.advanceTo(35);
        assertFalse(a.requested(0x40));
        assertEquals(5, a.readMmio(TIMER_CURRENT_COUNT, 35));
    }

    @Test
    public void aNewDivideValueAppliesToWhatIsLeft() {
        LocalApic a = apic();
        a.writeMmio(LVT_TIMER, 0x40, 0);
        a.writeMmio(DIVIDE_CONFIGURATION, 0xB, 0); // by 1
        a.writeMmio(TIMER_INITIAL_COUNT, 100, 0);
        a.writeMmio(DIVIDE_CONFIGURATION, 0b0001, 40); // by 4: 60 counts left, 240 TSC ticks
        assertEquals(60, a.readMmio(TIMER_CURRENT_COUNT, 40));
        assertEquals(280, a.nextTimerEvent());
    }

    /** 11.5.4.1: TSC-deadline mode. */
    @Test
    public void tscDeadlineFiresAtTheDeadlineAndClearsIt() throws ApicFault {
        LocalApic a = x2(apic());
        a.writeTscDeadline(5000, 0);
        assertEquals("ignored outside TSC-deadline mode", 0, a.readTscDeadline(0));
        a.writeMsr(0x832, 2 << 17 | 0x60, 0);
        a.writeMsr(0x838, 100, 0);
        assertEquals("initial-count writes are ignored", 0, a.readMsr(0x838, 0));
        assertEquals(0, a.readMsr(0x839, 0));
        a.writeTscDeadline(5000, 0);
        assertEquals(5000, a.readTscDeadline(4999));
        assertEquals(5000, a.nextTimerEvent());
        a.advanceTo(4999);
        assertFalse(a.requested(0x60));
        a.advanceTo(5000);
        assertTrue(a.requested(0x60));
        assertEquals(0, a.readTscDeadline(5001));
        assertEquals(Long.MAX_VALUE, a.nextTimerEvent());
    }

    @Test
    public void aPastDeadlineFiresAtOnceAndZeroDisarms() throws ApicFault {
        LocalApic a = apic();
        a.writeMmio(LVT_TIMER, 2 << 17 | 0x60, 0);
        a.writeTscDeadline(10, 100);
        assertTrue(a.requested(0x60));
        a.writeTscDeadline(500, 100);
        a.writeTscDeadline(0, 100);
        a.advanceTo(1000);
        assertEquals(0x60, a.acknowledgeInterrupt());
        assertEquals(-1, a.pendingInterrupt());
    }

    @Test
    public void leavingTscDeadlineModeDisarmsTheTimer() {
        LocalApic a = apic();
        a.writeMmio(LVT_TIMER, 2 << 17 | 0x60, 0);
        a.writeTscDeadline(500, 0);
        a.writeMmio(LVT_TIMER, 0x60, 10);
        a.writeMmio(LVT_TIMER, 2 << 17 | 0x60, 20);
        assertEquals(0, a.readTscDeadline(20));
        a.advanceTo(1000);
        assertFalse(a.requested(0x60));
    }

    private static void selfIpi(LocalApic a, int vector) {
        a.writeMmio(ICR_LOW, 1 << 18 | vector, 0);
    }
}
