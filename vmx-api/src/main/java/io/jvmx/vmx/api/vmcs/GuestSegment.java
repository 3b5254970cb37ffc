package io.jvmx.vmx.api.vmcs;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;

/**
 * The guest's segment registers and LDTR/TR in the guest-state area, each with its four VMCS fields: selector, base
 * address, segment limit and access rights (SDM Vol. 3C 25.4.1), in the order of the SDM's encodings (ES, CS, SS,
 * DS, FS, GS, LDTR, TR).
 */
public enum GuestSegment {
    ES(GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_ACCESS_RIGHTS),
    CS(GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_ACCESS_RIGHTS),
    SS(GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_ACCESS_RIGHTS),
    DS(GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_ACCESS_RIGHTS),
    FS(GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_ACCESS_RIGHTS),
    GS(GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_ACCESS_RIGHTS),
    LDTR(GUEST_LDTR_SELECTOR, GUEST_LDTR_BASE, GUEST_LDTR_LIMIT, GUEST_LDTR_ACCESS_RIGHTS),
    TR(GUEST_TR_SELECTOR, GUEST_TR_BASE, GUEST_TR_LIMIT, GUEST_TR_ACCESS_RIGHTS);

    private final VmcsField selector, base, limit, accessRights;

    GuestSegment(VmcsField selector, VmcsField base, VmcsField limit, VmcsField accessRights) {
        this.selector = selector;
        this.base = base;
        this.limit = limit;
        this.accessRights = accessRights;
    }

    public VmcsField selector() {
        return selector;
    }

    public VmcsField base() {
        return base;
    }

    public VmcsField limit() {
        return limit;
    }

    public VmcsField accessRights() {
        return accessRights;
    }
}
