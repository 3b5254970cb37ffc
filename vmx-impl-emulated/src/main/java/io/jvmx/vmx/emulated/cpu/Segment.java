package io.jvmx.vmx.emulated.cpu;

/**
 * A segment register with its hidden part, in the VMCS guest-state format (SDM Vol. 3C, 25.4.1): selector, base,
 * limit (in bytes, already scaled by G), and access rights in the format of Table 25-2 (bits 3:0 type, 4 S,
 * 6:5 DPL, 7 P, 12 AVL, 13 L, 14 D/B, 15 G, 16 unusable).
 */
public final class Segment {
    public static final int AR_UNUSABLE = 1 << 16;

    public int selector;
    public long base;
    public int limit;
    public int accessRights;

    public void set(int selector, long base, int limit, int accessRights) {
        this.selector = selector;
        this.base = base;
        this.limit = limit;
        this.accessRights = accessRights;
    }

    public boolean unusable() {
        return (accessRights & AR_UNUSABLE) != 0;
    }

    public int dpl() {
        return (accessRights >>> 5) & 3;
    }

    /** CS.L: 64-bit code segment. */
    public boolean longMode() {
        return (accessRights & (1 << 13)) != 0;
    }

    /** D/B: default operand size 32 (code) / big stack (data). */
    public boolean defaultBig() {
        return (accessRights & (1 << 14)) != 0;
    }

    @Override
    public String toString() {
        return String.format("sel=%#06x base=%#x limit=%#x ar=%#x", selector, base, limit & 0xFFFF_FFFFL, accessRights);
    }
}
