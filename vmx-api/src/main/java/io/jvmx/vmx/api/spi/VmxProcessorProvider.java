package io.jvmx.vmx.api.spi;

import org.osgi.annotation.versioning.ProviderType;

/**
 * An OSGi service that makes {@link VmxProcessor}s of one kind. Service property {@value #KIND} names the kind
 * ("software", "kvm").
 */
@ProviderType
public interface VmxProcessorProvider {
    String KIND = "vmx.processor.kind";

    String kind();

    /** Null if processors of this kind can be opened here; otherwise one line saying why not. */
    String unavailableReason();

    /**
     * The exit reasons processors of this kind can deliver (as {@link VmxProcessor#deliverableExits}), known without
     * opening one: all basic exit reasons unless the provider says otherwise.
     */
    default java.util.Set<io.jvmx.vmx.api.exit.ExitReason> deliverableExits() {
        return java.util.EnumSet.allOf(io.jvmx.vmx.api.exit.ExitReason.class);
    }

    /** Opens a logical processor with {@code memoryBytes} of host-physical memory (a multiple of 4 KiB). */
    VmxProcessor open(long memoryBytes);
}
