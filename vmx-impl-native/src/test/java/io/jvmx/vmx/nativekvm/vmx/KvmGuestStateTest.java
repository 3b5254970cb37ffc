package io.jvmx.vmx.nativekvm.vmx;

import static org.junit.Assert.assertEquals;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Regs;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Run;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Segment;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Sregs;
import io.jvmx.vmx.vmcs.region.VmcsRegion;
import org.junit.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The VMCS guest-state area against kvm_run's synchronized registers, without KVM (a buffer stands for kvm_run). */
public class KvmGuestStateTest {
    private final ByteBuffer run = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBufferPhysicalMemory memory = ByteBufferPhysicalMemory.allocate(4 * 4096);
    private final VmcsRegion v = new VmcsRegion(memory, memory.allocateFrame());
    private final GeneralRegisters guest = new GeneralRegisters();

    private void kvmIsInLongMode() {
        int cs = Run.SYNC_SREGS + Sregs.CS;
        run.putShort(cs + Segment.SELECTOR, (short) 0x08);
        run.putInt(cs + Segment.LIMIT, 0xFFFF_FFFF);
        run.put(cs + Segment.TYPE, (byte) 0xB);
        run.put(cs + Segment.S, (byte) 1);
        run.put(cs + Segment.PRESENT, (byte) 1);
        run.put(cs + Segment.L, (byte) 1);
        run.put(cs + Segment.G, (byte) 1);
        run.putLong(Run.SYNC_SREGS + Sregs.CR0, Cr0.PE | Cr0.PG | Cr0.ET);
        run.putLong(Run.SYNC_SREGS + Sregs.CR4, Cr4.PAE);
        run.putLong(Run.SYNC_SREGS + Sregs.EFER, Efer.LME | Efer.LMA);
        run.putLong(Run.SYNC_REGS + Regs.RIP, 0x8211);
        run.putLong(Run.SYNC_REGS + Regs.RCX, 0x1234);
        run.put(Run.SYNC_EVENTS + KvmAbi.Events.INTERRUPT_SHADOW, (byte) KvmAbi.KVM_X86_SHADOW_INT_STI);
    }

    @Test
    public void anExitSavesWhatKvmHasAndTheGuestSeesTheSameThroughTheShadows() {
        // the VMM's setup: CR0.PE/PG and the fixed bits host-owned, the guest read real mode
        v.put(VmcsField.CR0_GUEST_HOST_MASK, Cr0.PE | Cr0.PG | Cr0.NE | Cr0.NW | Cr0.CD);
        v.put(VmcsField.CR0_READ_SHADOW, Cr0.ET | Cr0.NW | Cr0.CD);
        v.put(VmcsField.CR4_GUEST_HOST_MASK, Cr4.VMXE | Cr4.PAE);
        kvmIsInLongMode();
        KvmGuestState.save(run, v, guest);
        assertEquals(0x8211, v.get(VmcsField.GUEST_RIP));
        assertEquals(0x1234, guest.get(GeneralRegisters.RCX));
        assertEquals(0xA09B, v.get(VmcsField.GUEST_CS_ACCESS_RIGHTS));
        assertEquals("VMX forces CR0.NE", Cr0.PE | Cr0.PG | Cr0.ET | Cr0.NE, v.get(VmcsField.GUEST_CR0));
        assertEquals("the guest reads what it has", Cr0.PE | Cr0.PG | Cr0.ET,
                KvmGuestState.guestView(v, VmcsField.GUEST_CR0, VmcsField.CR0_READ_SHADOW,
                        VmcsField.CR0_GUEST_HOST_MASK));
        assertEquals(Cr4.PAE | Cr4.VMXE, v.get(VmcsField.GUEST_CR4));
        assertEquals("the IA-32e mode guest control follows EFER.LMA", VmEntryControls.IA32E_MODE_GUEST,
                v.get(VmcsField.VM_ENTRY_CONTROLS));
        assertEquals("blocking by STI", 1, v.get(VmcsField.GUEST_INTERRUPTIBILITY_STATE));
    }

    @Test
    public void anEntryAfterAnExitLoadsOnlyWhatTheVmmChanged() {
        v.put(VmcsField.CR0_GUEST_HOST_MASK, Cr0.PE | Cr0.PG | Cr0.NE);
        kvmIsInLongMode();
        KvmGuestState.save(run, v, guest);
        assertEquals("nothing changed", 0, KvmGuestState.load(run, v, guest, true));
        v.put(VmcsField.GUEST_RIP, 0x8214); // a handler advanced RIP
        assertEquals(KvmAbi.KVM_SYNC_X86_REGS, KvmGuestState.load(run, v, guest, true));
        assertEquals(0x8214, run.getLong(Run.SYNC_REGS + Regs.RIP));
        v.put(VmcsField.GUEST_CR3, 0x5000); // a CR3 write
        assertEquals(KvmAbi.KVM_SYNC_X86_SREGS, KvmGuestState.load(run, v, guest, true));
        v.put(VmcsField.GUEST_INTERRUPTIBILITY_STATE, 0); // the STI shadow ended
        assertEquals(KvmAbi.KVM_SYNC_X86_EVENTS, KvmGuestState.load(run, v, guest, true));
        assertEquals(0, run.get(Run.SYNC_EVENTS + KvmAbi.Events.INTERRUPT_SHADOW));
    }
}
