package io.jvmx.vmx.api.vmcs;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/** Each guest segment register's four fields are its own (SDM Vol. 3C 25.4.1; encodings in App. B). */
public class GuestSegmentTest {

    @Test
    public void everySegmentNamesItsOwnSelectorBaseLimitAndAccessRights() {
        for (GuestSegment s : GuestSegment.values()) {
            String p = "GUEST_" + s.name() + "_";
            assertEquals(p + "SELECTOR", s.selector().name());
            assertEquals(p + "BASE", s.base().name());
            assertEquals(p + "LIMIT", s.limit().name());
            assertEquals(p + "ACCESS_RIGHTS", s.accessRights().name());
        }
    }

    /** The order of the encodings: ES, CS, SS, DS, FS, GS, LDTR, TR (selectors 0800H, 0802H, ... 080EH). */
    @Test
    public void theOrderIsThatOfTheEncodings() {
        for (GuestSegment s : GuestSegment.values()) {
            assertEquals(s.name(), 0x800 + 2 * s.ordinal(), s.selector().encoding());
        }
    }
}
