package io.jvmx.vmx.nativekvm.kvm;

import com.sun.jna.Memory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** A CPUID table as KVM_GET_SUPPORTED_CPUID returns it and KVM_SET_CPUID2 takes it. Immutable. */
public final class CpuidTable {

    /** One kvm_cpuid_entry2. {@code indexed}: the subleaf (index) matters (KVM_CPUID_FLAG_SIGNIFCANT_INDEX). */
    public record Entry(int function, int index, boolean indexed, int eax, int ebx, int ecx, int edx) {
    }

    private final List<Entry> entries;

    public CpuidTable(List<Entry> entries) {
        this.entries = Collections.unmodifiableList(new ArrayList<>(entries));
    }

    public List<Entry> entries() {
        return entries;
    }

    /** The entry CPUID(function, index) selects, or null (SDM: leaves above the maximum are reserved). */
    public Entry find(int function, int index) {
        for (Entry e : entries) {
            if (e.function() == function && (!e.indexed() || e.index() == index)) {
                return e;
            }
        }
        return null;
    }

    static CpuidTable read(Memory m) {
        int n = m.getInt(KvmAbi.Cpuid2.NENT);
        List<Entry> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long e = KvmAbi.Cpuid2.HEADER + (long) i * KvmAbi.Cpuid2.ENTRY_SIZE;
            list.add(new Entry(m.getInt(e + KvmAbi.Cpuid2.ENTRY_FUNCTION), m.getInt(e + KvmAbi.Cpuid2.ENTRY_INDEX),
                    (m.getInt(e + KvmAbi.Cpuid2.ENTRY_FLAGS) & KvmAbi.KVM_CPUID_FLAG_SIGNIFCANT_INDEX) != 0,
                    m.getInt(e + KvmAbi.Cpuid2.ENTRY_EAX), m.getInt(e + KvmAbi.Cpuid2.ENTRY_EBX),
                    m.getInt(e + KvmAbi.Cpuid2.ENTRY_ECX), m.getInt(e + KvmAbi.Cpuid2.ENTRY_EDX)));
        }
        return new CpuidTable(list);
    }

    Memory toNative() {
        Memory m = new Memory(KvmAbi.Cpuid2.HEADER + (long) Math.max(1, entries.size()) * KvmAbi.Cpuid2.ENTRY_SIZE);
        m.clear();
        m.setInt(KvmAbi.Cpuid2.NENT, entries.size());
        for (int i = 0; i < entries.size(); i++) {
            Entry x = entries.get(i);
            long e = KvmAbi.Cpuid2.HEADER + (long) i * KvmAbi.Cpuid2.ENTRY_SIZE;
            m.setInt(e + KvmAbi.Cpuid2.ENTRY_FUNCTION, x.function());
            m.setInt(e + KvmAbi.Cpuid2.ENTRY_INDEX, x.index());
            m.setInt(e + KvmAbi.Cpuid2.ENTRY_FLAGS, x.indexed() ? KvmAbi.KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0);
            m.setInt(e + KvmAbi.Cpuid2.ENTRY_EAX, x.eax());
            m.setInt(e + KvmAbi.Cpuid2.ENTRY_EBX, x.ebx());
            m.setInt(e + KvmAbi.Cpuid2.ENTRY_ECX, x.ecx());
            m.setInt(e + KvmAbi.Cpuid2.ENTRY_EDX, x.edx());
        }
        return m;
    }
}
