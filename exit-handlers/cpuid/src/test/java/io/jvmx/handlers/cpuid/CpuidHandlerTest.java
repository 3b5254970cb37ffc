package io.jvmx.handlers.cpuid;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.arch.Xcr0;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.handler.CpuidContribution;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import org.junit.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/** Conformance of the CPUID handler: SDM Vol. 2A "CPUID" (leaves 1, 7, 0DH, 16H, operation) and Vol. 3C 26.1.2. */
public class CpuidHandlerTest {

    private final CpuidHandler handler = new CpuidHandler();

    private static final CpuidResult ALL_ONES = new CpuidResult(-1, -1, -1, -1);

    /** Runs CPUID(leaf, subleaf) through the handler (0F A2: 2 bytes) and returns EAX, EBX, ECX, EDX. */
    private CpuidResult cpuid(FakeVCpu v, int leaf, int subleaf) throws Exception {
        v.writeGpr(GeneralRegisters.RAX, leaf & 0xFFFF_FFFFL);
        v.writeGpr(GeneralRegisters.RCX, subleaf & 0xFFFF_FFFFL);
        assertEquals(ExitAction.HANDLED, handler.handle(v, v.exit(ExitReason.CPUID, 0, 2)));
        return new CpuidResult((int) v.readGpr(GeneralRegisters.RAX), (int) v.readGpr(GeneralRegisters.RBX),
                (int) v.readGpr(GeneralRegisters.RCX), (int) v.readGpr(GeneralRegisters.RDX));
    }

    /**
     * Devices say through CPUID that they exist: every contribution sees the answer of the policy (and of the
     * contributions ranked below it) and the highest ranking has the final word; one that goes away stops counting.
     */
    @Test
    public void contributionsAdjustThePolicysAnswerInRankingOrder() throws Exception {
        FakeVCpu v = new FakeVCpu().putHostCpuid(1, 0, new CpuidResult(0, 0, 0, 0));
        CpuidContribution apic = (vcpu, leaf, sub, r) -> leaf == 1 ? r.withEdx(r.edx() | 1 << 9) : r;
        CpuidContribution veto = (vcpu, leaf, sub, r) -> r.withEdx(r.edx() & ~(1 << 9)).withEbx(0x1234);
        handler.addContribution(veto, java.util.Map.of("service.ranking", 10));
        handler.addContribution(apic, java.util.Map.of());
        CpuidResult r = cpuid(v, 1, 0);
        assertEquals("ranking 10 runs last", 0, r.edx() & 1 << 9);
        assertEquals(0x1234, r.ebx());
        handler.removeContribution(veto);
        r = cpuid(v, 1, 0);
        assertEquals(1 << 9, r.edx() & 1 << 9);
        assertEquals("the policy's leaf 1 still applies (hypervisor bit)", CpuidHandler.ECX1_HYPERVISOR,
                r.ecx() & CpuidHandler.ECX1_HYPERVISOR);
    }

    /** Leaf 1 ECX bit 5 (VMX) is cleared: the guest has no VMX (SDM Vol. 2A Table 3-10). */
    @Test
    public void leaf1ClearsVmx() throws Exception {
        FakeVCpu v = new FakeVCpu().putHostCpuid(1, 0, ALL_ONES);
        assertEquals(0, cpuid(v, 1, 0).ecx() & CpuidHandler.ECX1_VMX);
    }

    /** Leaf 1 ECX bit 31 is set: "running under a hypervisor" (reserved for this use, SDM Vol. 2A Table 3-10). */
    @Test
    public void leaf1SetsHypervisorBit() throws Exception {
        FakeVCpu v = new FakeVCpu().putHostCpuid(1, 0, new CpuidResult(0x906EA, 0, 0, 0));
        assertEquals(CpuidHandler.ECX1_HYPERVISOR, cpuid(v, 1, 0).ecx());
    }

    /**
     * Leaf 1 EDX bit 7 (MCE) is cleared (SDM Vol. 2A Table 3-11). x86_vcpu clears bit 7 of EAX instead — a bit of the
     * model number — so its guests see a wrong model and still see MCE: EAX comes back unchanged here.
     */
    @Test
    public void leaf1ClearsEdxMceNotEaxBit7AsX86VcpuDoes() throws Exception {
        FakeVCpu v = new FakeVCpu().putHostCpuid(1, 0, new CpuidResult(0x906EA, 0x00100800, 0x7FFAFBBF, 0xBFEBFBFF));
        CpuidResult r = cpuid(v, 1, 0);
        assertEquals(0, r.edx() & CpuidHandler.EDX1_MCE);
        assertEquals(0xBFEBFBFF & ~CpuidHandler.EDX1_MCE, r.edx());
        assertEquals("EAX (family/model/stepping) untouched, bit 7 included", 0x906EA, r.eax());
        assertEquals(0x00100800, r.ebx());
    }

    /** Leaf 7 sub-leaf 0: ECX.WAITPKG (bit 5) and ECX.LA57 (bit 16) cleared, the rest kept (SDM Vol. 2A Table 3-8). */
    @Test
    public void leaf7Subleaf0ClearsWaitpkgAndLa57() throws Exception {
        FakeVCpu v = new FakeVCpu().putHostCpuid(7, 0, ALL_ONES);
        CpuidResult r = cpuid(v, 7, 0);
        assertEquals(~(CpuidHandler.ECX7_WAITPKG | CpuidHandler.ECX7_LA57), r.ecx());
        assertEquals(-1, r.ebx());
        assertEquals(-1, r.edx());
    }

    /** Leaf 7 sub-leaves other than 0 pass through unchanged. */
    @Test
    public void leaf7OtherSubleavesPassThrough() throws Exception {
        FakeVCpu v = new FakeVCpu().putHostCpuid(7, 1, ALL_ONES);
        assertEquals(ALL_ONES, cpuid(v, 7, 1));
    }

    /** Leaf 0DH is answered with the guest's XCR0 loaded: EBX = XSAVE size of the guest's components (SDM 13.2). */
    @Test
    public void leafDReflectsTheGuestXcr0() throws Exception {
        FakeVCpu v = new FakeVCpu();
        v.setGuestXcr0(Xcr0.X87 | Xcr0.SSE);
        assertEquals(576, cpuid(v, 0xD, 0).ebx());
        v.setGuestXcr0(Xcr0.X87 | Xcr0.SSE | Xcr0.AVX);
        assertEquals(832, cpuid(v, 0xD, 0).ebx());
    }

    /** Leaf 4000_0000H: EAX = highest hypervisor leaf, EBX:ECX:EDX = "RVMRVMRVMRVM" (x86_vcpu's signature). */
    @Test
    public void hypervisorLeafReturnsDefaultSignature() throws Exception {
        CpuidResult r = cpuid(new FakeVCpu(), 0x4000_0000, 0);
        assertEquals(0x4000_0001, r.eax());
        assertEquals("RVMRVMRVMRVM", signature(r));
    }

    /** Leaf 4000_0001H (hypervisor features) is all zero, even if the processor says otherwise. */
    @Test
    public void hypervisorFeatureLeafIsZero() throws Exception {
        FakeVCpu v = new FakeVCpu().putHostCpuid(0x4000_0001, 0, ALL_ONES);
        assertEquals(CpuidResult.ZERO, cpuid(v, 0x4000_0001, 0));
    }

    /** The signature is the component property cpuid.signature: another instance can answer differently. */
    @Test
    public void signatureComesFromConfiguration() throws Exception {
        handler.activate(Map.of(CpuidHandler.SIGNATURE, "KVMKVMKVM\0\0\0"));
        assertEquals("KVMKVMKVM\0\0\0", signature(cpuid(new FakeVCpu(), 0x4000_0000, 0)));
    }

    /** A signature that is not 12 ASCII characters fails activation with a message naming the property. */
    @Test
    public void badSignatureFailsActivationClearly() {
        IllegalArgumentException tooShort = assertThrows(IllegalArgumentException.class,
                () -> handler.activate(Map.of(CpuidHandler.SIGNATURE, "JVMX")));
        assertTrue(tooShort.getMessage(), tooShort.getMessage().contains("cpuid.signature must be exactly 12 ASCII"));
        assertTrue(tooShort.getMessage(), tooShort.getMessage().contains("got 4 characters"));
        IllegalArgumentException nonAscii = assertThrows(IllegalArgumentException.class,
                () -> handler.activate(Map.of(CpuidHandler.SIGNATURE, "jvmxjvmxjvm\u00e9")));
        assertTrue(nonAscii.getMessage().contains("ASCII"));
        IllegalArgumentException notString = assertThrows(IllegalArgumentException.class,
                () -> handler.activate(Map.of(CpuidHandler.SIGNATURE, 42)));
        assertTrue(notString.getMessage(), notString.getMessage().contains("must be a String of 12 ASCII characters, got Integer 42"));
    }

    /** Leaf 16H: 3000 MHz when the processor reports a base frequency of 0 (x86_vcpu's default). */
    @Test
    public void leaf16DefaultsTo3000MhzWhenHostReportsZero() throws Exception {
        assertEquals(3000, cpuid(new FakeVCpu(), 0x16, 0).eax());
        FakeVCpu v = new FakeVCpu().putHostCpuid(0x16, 0, new CpuidResult(2100, 3900, 100, 0));
        assertEquals(new CpuidResult(2100, 3900, 100, 0), cpuid(v, 0x16, 0));
    }

    /** Any other leaf passes through, sub-leaf from ECX (e.g. leaf 4 cache parameters, SDM Vol. 2A CPUID). */
    @Test
    public void otherLeavesPassThroughWithSubleaf() throws Exception {
        CpuidResult cache = new CpuidResult(0x1C004121, 0x01C0003F, 0x3F, 0);
        FakeVCpu v = new FakeVCpu().putHostCpuid(4, 1, cache).putHostCpuid(0x8000_0008, 0, new CpuidResult(0x3027, 0, 0, 0));
        assertEquals(cache, cpuid(v, 4, 1));
        assertEquals(0x3027, cpuid(v, 0x8000_0008, 0).eax());
    }

    /** CPUID clears bits 63:32 of RAX, RBX, RCX, RDX and ignores those of RAX/RCX as input (SDM Vol. 2A CPUID). */
    @Test
    public void upperHalvesAreIgnoredAndCleared() throws Exception {
        FakeVCpu v = new FakeVCpu().putHostCpuid(7, 0, ALL_ONES);
        v.writeGpr(GeneralRegisters.RAX, 0xAAAA_AAAA_0000_0007L);
        v.writeGpr(GeneralRegisters.RCX, 0xBBBB_BBBB_0000_0000L);
        v.writeGpr(GeneralRegisters.RBX, 0xCCCC_CCCC_CCCC_CCCCL);
        v.writeGpr(GeneralRegisters.RDX, 0xDDDD_DDDD_DDDD_DDDDL);
        handler.handle(v, v.exit(ExitReason.CPUID, 0, 2));
        assertEquals(0xFFFF_FFFFL, v.readGpr(GeneralRegisters.RAX));
        assertEquals(0xFFFF_FFFFL, v.readGpr(GeneralRegisters.RBX));
        assertEquals(0xFFFF_FFFFL & ~(CpuidHandler.ECX7_WAITPKG | CpuidHandler.ECX7_LA57), v.readGpr(GeneralRegisters.RCX));
        assertEquals(0xFFFF_FFFFL, v.readGpr(GeneralRegisters.RDX));
    }

    /** RIP advances by the VM-exit instruction length field (SDM 28.2.5): 2, or 3 with a prefix (66 0F A2). */
    @Test
    public void ripAdvancesByTheInstructionLengthField() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long rip = v.rip();
        cpuid(v, 0, 0);
        assertEquals(rip + 2, v.rip());
        handler.handle(v, v.exit(ExitReason.CPUID, 0, 3));
        assertEquals(rip + 5, v.rip());
    }

    private static String signature(CpuidResult r) {
        ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(r.ebx()).putInt(r.ecx()).putInt(r.edx());
        return new String(b.array(), StandardCharsets.US_ASCII);
    }
}
