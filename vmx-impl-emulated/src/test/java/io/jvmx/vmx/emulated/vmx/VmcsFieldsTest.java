package io.jvmx.vmx.emulated.vmx;

import io.jvmx.vmx.vmcs.region.VmcsRegion;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.api.vmcs.VmcsFieldWidth;

import org.junit.Test;

/** VMCS components through VMREAD/VMWRITE: SDM Vol. 3C 25.11.2 (encodings, widths, high access) and 25.11.3. */
public class VmcsFieldsTest {

    private static long pattern(VmcsField f) {
        return 0x0123_4567_89AB_CDEFL * (f.ordinal() + 3) ^ ((long) f.encoding() << 17);
    }

    /**
     * SDM 25.11.1 / 31.3 VMCLEAR: VMCLEAR writes the VMCS data to its region; a later VMPTRLD of the same region gets
     * every field back. This processor keeps the data in the region at all times.
     */
    @Test
    public void vmclearVmptrldRoundTripKeepsEveryField() {
        VmxFixture fx = new VmxFixture();
        for (VmcsField f : VmcsField.values()) {
            if (!f.isReadOnly()) {
                fx.write(f, pattern(f));
            }
        }
        long second = fx.region();
        fx.cpu.vmclear(fx.vmcs);
        fx.cpu.vmclear(second);
        fx.cpu.vmptrld(second);
        fx.write(VmcsField.GUEST_RIP, 0x1234); // another VMCS in between changes nothing in the first
        fx.cpu.vmclear(second);
        fx.cpu.vmptrld(fx.vmcs);
        for (VmcsField f : VmcsField.values()) {
            if (!f.isReadOnly()) {
                assertEquals(f.name(), pattern(f) & f.width().mask(), fx.read(f));
            }
        }
    }

    /** SDM 25.11.2: 16- and 32-bit fields keep only their width; VMREAD zero-extends. */
    @Test
    public void narrowFieldsTruncate() {
        VmxFixture fx = new VmxFixture();
        fx.write(VmcsField.GUEST_CS_SELECTOR, 0xDEAD_BEEF_1234_5678L);
        assertEquals(0x5678, fx.read(VmcsField.GUEST_CS_SELECTOR));
        fx.write(VmcsField.GUEST_CS_LIMIT, 0xDEAD_BEEF_1234_5678L);
        assertEquals(0x1234_5678L, fx.read(VmcsField.GUEST_CS_LIMIT));
        fx.write(VmcsField.GUEST_RIP, 0xDEAD_BEEF_1234_5678L);
        assertEquals(0xDEAD_BEEF_1234_5678L, fx.read(VmcsField.GUEST_RIP));
        assertEquals(VmcsFieldWidth.BITS_16, VmcsField.GUEST_CS_SELECTOR.width());
    }

    /** SDM 25.11.2: a 64-bit field's "high" encoding (bit 0 = 1) reads and writes bits 63:32 only. */
    @Test
    public void highAccessOf64BitFields() {
        VmxFixture fx = new VmxFixture();
        int full = VmcsField.TSC_OFFSET.encoding();
        fx.cpu.vmwrite(full, 0x1111_2222_3333_4444L);
        assertEquals(0x1111_2222L, fx.cpu.vmread(full | 1));
        fx.cpu.vmwrite(full | 1, 0xFFFF_FFFF_AAAA_BBBBL); // only the low 32 bits of the source count
        assertEquals(0xAAAA_BBBB_3333_4444L, fx.cpu.vmread(full));
        assertEquals(0xAAAA_BBBBL, fx.cpu.vmread(full | 1));
    }

    /** SDM A.9: IA32_VMX_VMCS_ENUM bits 9:1 hold the highest index of any supported component. */
    @Test
    public void vmcsEnumHoldsHighestIndex() {
        VmxFixture fx = new VmxFixture();
        long highest = (fx.cpu.rdmsr(Msr.IA32_VMX_VMCS_ENUM) >>> 1) & 0x1FF;
        int max = 0;
        for (VmcsField f : VmcsField.values()) {
            max = Math.max(max, (f.encoding() >>> 1) & 0x1FF);
            assertTrue(((f.encoding() >>> 1) & 0x1FF) <= highest);
        }
        assertEquals(max, highest);
    }

    /** SDM 25.2: the revision identifier is at byte 0 of the region; the layout fits in the region size. */
    @Test
    public void regionLayout() {
        VmxFixture fx = new VmxFixture();
        assertEquals(VmxCapabilities.VMCS_REVISION_ID, fx.memory.read32(fx.vmcs));
        fx.write(VmcsField.GUEST_RIP, 0x4242);
        assertEquals(0x4242, fx.memory.read64(fx.vmcs + VmcsRegion.slot(VmcsField.GUEST_RIP)));
        assertTrue(VmcsRegion.slot(VmcsField.values()[VmcsField.values().length - 1]) + 8
                <= VmcsRegion.SIZE);
    }
}
