package io.jvmx.vmx.emulated.vmx;

import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.api.spi.VmxProcessor;
import io.jvmx.vmx.api.spi.VmxProcessorProvider;

import org.osgi.service.component.annotations.Component;

/** Makes software VMX processors: available everywhere, since nothing here needs hardware. */
@Component(service = VmxProcessorProvider.class, property = VmxProcessorProvider.KIND + "=" + SoftwareVmxProcessor.KIND)
public final class SoftwareVmxProcessorProvider implements VmxProcessorProvider {

    @Override
    public String kind() {
        return SoftwareVmxProcessor.KIND;
    }

    @Override
    public String unavailableReason() {
        return null;
    }

    /**
     * @throws IllegalArgumentException if {@code memoryBytes} is not a positive multiple of 4 KiB of at least two
     *                                  frames and at most 2 GiB (one direct buffer)
     */
    @Override
    public VmxProcessor open(long memoryBytes) {
        if (memoryBytes < 2L * PhysicalMemory.PAGE_SIZE || memoryBytes % PhysicalMemory.PAGE_SIZE != 0) {
            throw new IllegalArgumentException("processor memory must be a multiple of 4 KiB and at least 8 KiB, not "
                    + memoryBytes + " bytes");
        }
        return new SoftwareVmxProcessor(ByteBufferPhysicalMemory.allocate(memoryBytes));
    }
}
