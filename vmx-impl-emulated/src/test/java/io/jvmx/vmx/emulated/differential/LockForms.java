package io.jvmx.vmx.emulated.differential;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * LOCK (F0): the instructions it may prefix, with a memory destination (SDM Vol. 2A LOCK: ADD ADC AND BTC BTR BTS
 * CMPXCHG CMPXCHG8B CMPXCHG16B DEC INC NEG NOT OR SBB SUB XOR XADD XCHG), are their memory forms again with LOCK in
 * front: the result must be what the unlocked instruction gives (atomicity cannot be seen by one thread). LOCK on
 * anything else is #UD, which natively kills the JVM: the guest tests check that.
 */
final class LockForms {
    private LockForms() {
    }

    private static final Set<String> LOCKABLE = Set.of("ADD", "ADC", "AND", "BTC", "BTR", "BTS", "CMPXCHG",
            "CMPXCHG8B", "CMPXCHG16B", "DEC", "INC", "NEG", "NOT", "OR", "SBB", "SUB", "XOR", "XADD", "XCHG");

    /** Adds a LOCK form for each memory-destination form of a lockable instruction in {@code forms}. */
    static void withLock(List<InstructionForm> forms) {
        List<InstructionForm> added = new ArrayList<>();
        for (InstructionForm f : forms) {
            String[] words = f.name().split(" ");
            boolean memoryDestination = f.name().endsWith(", memory")
                    && (words[1].startsWith("r/m") || words[1].startsWith("m"));
            if (!LOCKABLE.contains(words[0]) || !memoryDestination) {
                continue;
            }
            InstructionForm.Generator g = b -> {
                byte[] code = f.generator().generate(b);
                if (code == null || code.length == 15) {
                    return null;
                }
                byte[] locked = new byte[code.length + 1];
                locked[0] = (byte) 0xF0;
                System.arraycopy(code, 0, locked, 1, code.length);
                return locked;
            };
            added.add(new InstructionForm("LOCK " + f.name(), f.mode(), f.required(), f.needsLowData(), g));
        }
        forms.addAll(added);
    }
}
