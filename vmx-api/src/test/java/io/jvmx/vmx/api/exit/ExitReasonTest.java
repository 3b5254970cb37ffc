package io.jvmx.vmx.api.exit;

import org.junit.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/** Basic exit reasons: SDM Vol. 3D Appendix C, Table C-1; exit-reason field format: SDM Vol. 3C 25.9.1, Table 25-18. */
public class ExitReasonTest {

    /** Table C-1, in order; 35, 38, 42 and 71 are not defined. */
    private static Map<Integer, ExitReason> tableC1() {
        Map<Integer, ExitReason> t = new LinkedHashMap<>();
        ExitReason[] inOrder = {
            ExitReason.EXCEPTION_OR_NMI, ExitReason.EXTERNAL_INTERRUPT, ExitReason.TRIPLE_FAULT,
            ExitReason.INIT_SIGNAL, ExitReason.START_UP_IPI, ExitReason.IO_SMI, ExitReason.OTHER_SMI,
            ExitReason.INTERRUPT_WINDOW, ExitReason.NMI_WINDOW, ExitReason.TASK_SWITCH, ExitReason.CPUID,
            ExitReason.GETSEC, ExitReason.HLT, ExitReason.INVD, ExitReason.INVLPG, ExitReason.RDPMC,
            ExitReason.RDTSC, ExitReason.RSM, ExitReason.VMCALL, ExitReason.VMCLEAR, ExitReason.VMLAUNCH,
            ExitReason.VMPTRLD, ExitReason.VMPTRST, ExitReason.VMREAD, ExitReason.VMRESUME, ExitReason.VMWRITE,
            ExitReason.VMXOFF, ExitReason.VMXON, ExitReason.CR_ACCESS, ExitReason.MOV_DR,
            ExitReason.IO_INSTRUCTION, ExitReason.RDMSR, ExitReason.WRMSR,
            ExitReason.VM_ENTRY_FAILURE_INVALID_GUEST_STATE, ExitReason.VM_ENTRY_FAILURE_MSR_LOADING,
        };
        for (int i = 0; i < inOrder.length; i++) {
            t.put(i, inOrder[i]);
        }
        t.put(36, ExitReason.MWAIT);
        t.put(37, ExitReason.MONITOR_TRAP_FLAG);
        t.put(39, ExitReason.MONITOR);
        t.put(40, ExitReason.PAUSE);
        t.put(41, ExitReason.VM_ENTRY_FAILURE_MACHINE_CHECK_EVENT);
        ExitReason[] from43 = {
            ExitReason.TPR_BELOW_THRESHOLD, ExitReason.APIC_ACCESS, ExitReason.VIRTUALIZED_EOI,
            ExitReason.ACCESS_TO_GDTR_OR_IDTR, ExitReason.ACCESS_TO_LDTR_OR_TR, ExitReason.EPT_VIOLATION,
            ExitReason.EPT_MISCONFIGURATION, ExitReason.INVEPT, ExitReason.RDTSCP,
            ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, ExitReason.INVVPID, ExitReason.WBINVD_OR_WBNOINVD,
            ExitReason.XSETBV, ExitReason.APIC_WRITE, ExitReason.RDRAND, ExitReason.INVPCID, ExitReason.VMFUNC,
            ExitReason.ENCLS, ExitReason.RDSEED, ExitReason.PAGE_MODIFICATION_LOG_FULL, ExitReason.XSAVES,
            ExitReason.XRSTORS, ExitReason.PCONFIG, ExitReason.SPP_RELATED_EVENT, ExitReason.UMWAIT,
            ExitReason.TPAUSE, ExitReason.LOADIWKEY, ExitReason.ENCLV,
        };
        for (int i = 0; i < from43.length; i++) {
            t.put(43 + i, from43[i]);
        }
        ExitReason[] from72 = {
            ExitReason.ENQCMD_PASID_TRANSLATION_FAILURE, ExitReason.ENQCMDS_PASID_TRANSLATION_FAILURE,
            ExitReason.BUS_LOCK, ExitReason.INSTRUCTION_TIMEOUT, ExitReason.SEAMCALL, ExitReason.TDCALL,
            ExitReason.RDMSRLIST, ExitReason.WRMSRLIST,
        };
        for (int i = 0; i < from72.length; i++) {
            t.put(72 + i, from72[i]);
        }
        return t;
    }

    @Test
    public void numbersFollowTableC1() {
        Map<Integer, ExitReason> t = tableC1();
        assertEquals(76, t.size());
        assertEquals(t.size(), ExitReason.values().length);
        for (Map.Entry<Integer, ExitReason> e : t.entrySet()) {
            assertEquals(e.getValue().name(), (int) e.getKey(), e.getValue().number());
            assertEquals(e.getValue(), ExitReason.of(e.getKey()).orElseThrow());
        }
        // the reasons jvmx handles, spelled out
        assertEquals(10, ExitReason.CPUID.number());
        assertEquals(28, ExitReason.CR_ACCESS.number());
        assertEquals(30, ExitReason.IO_INSTRUCTION.number());
        assertEquals(48, ExitReason.EPT_VIOLATION.number());
        assertEquals(52, ExitReason.VMX_PREEMPTION_TIMER_EXPIRED.number());
        assertEquals(55, ExitReason.XSETBV.number());
    }

    @Test
    public void undefinedNumbersHaveNoReason() {
        for (int n : new int[] {35, 38, 42, 71, 80, 0xFFFF, -1, Integer.MAX_VALUE}) {
            assertTrue(String.valueOf(n), ExitReason.of(n).isEmpty());
        }
    }

    @Test
    public void parseByNameOrNumber() {
        assertEquals(ExitReason.CPUID, ExitReason.parse("CPUID").orElseThrow());
        assertEquals(ExitReason.CPUID, ExitReason.parse("cpuid").orElseThrow());
        assertEquals(ExitReason.CPUID, ExitReason.parse("10").orElseThrow());
        assertEquals(ExitReason.CR_ACCESS, ExitReason.parse("cr-access").orElseThrow());
        assertEquals(ExitReason.CR_ACCESS, ExitReason.parse(" cr access ").orElseThrow());
        assertEquals(ExitReason.CR_ACCESS, ExitReason.parse("0x1c").orElseThrow());
        assertEquals(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, ExitReason.parse("52").orElseThrow());
        assertTrue(ExitReason.parse("35").isEmpty());
        // a leading zero is decimal, not octal ("010" is CPUID, not NMI_WINDOW)
        assertEquals(ExitReason.CPUID, ExitReason.parse("010").orElseThrow());
        assertEquals(ExitReason.HLT, ExitReason.parse("012").orElseThrow());
        assertTrue(ExitReason.parse("-1").isEmpty());
        assertTrue(ExitReason.parse("no-such-exit").isEmpty());
        assertTrue(ExitReason.parse("").isEmpty());
        assertTrue(ExitReason.parse("  ").isEmpty());
        assertTrue(ExitReason.parse(null).isEmpty());
        for (ExitReason r : ExitReason.values()) {
            assertEquals(r, ExitReason.parse(r.name()).orElseThrow());
            assertEquals(r, ExitReason.parse(Integer.toString(r.number())).orElseThrow());
        }
    }

    @Test
    public void exitReasonFieldBasicReasonAndEntryFailureBit() {
        // Table 25-18: bits 15:0 basic exit reason, bit 31 VM-entry failure.
        assertEquals(0x8000_0000, ExitReason.ENTRY_FAILURE_BIT);
        assertEquals(ExitReason.VM_ENTRY_FAILURE_INVALID_GUEST_STATE,
                ExitReason.fromExitReasonField(0x8000_0021L));
        assertEquals(ExitReason.HLT, ExitReason.fromExitReasonField(12));
        // bit 27 (enclave mode) and bit 29 (VM exit from VMX root operation) do not change the basic reason
        assertEquals(ExitReason.EPT_VIOLATION, ExitReason.fromExitReasonField((1L << 27) | 48));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ExitReason.fromExitReasonField(35));
        assertTrue(e.getMessage(), e.getMessage().contains("35"));

        VmExitInfo failed = VmExitInfo.of(0x8000_0021, 0, 0x8000, 0);
        assertTrue(failed.entryFailure());
        assertEquals(ExitReason.VM_ENTRY_FAILURE_INVALID_GUEST_STATE, failed.reason());
        assertTrue(failed.toString(), failed.toString().startsWith("VM-entry failure: "));
        VmExitInfo io = VmExitInfo.of(30, 1, 0x8010, 0x03F8_0000L);
        assertFalse(io.entryFailure());
        assertEquals(ExitReason.IO_INSTRUCTION, io.reason());
        assertEquals(30, io.exitReasonField());
    }
}
