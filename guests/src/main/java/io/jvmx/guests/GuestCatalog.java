package io.jvmx.guests;

import java.util.List;
import java.util.Optional;

/**
 * The guest images a platform can run, by name. In OSGi the {@code io.jvmx.guests} bundle registers one as a
 * service; outside OSGi use {@link BundledGuests#catalog()}.
 */
public interface GuestCatalog {

    /** The showcase guest that {@code vcpu:run} runs when no image is named. */
    String DEMO = "demo";

    /** All images, in catalog order. */
    List<GuestImage> images();

    /** The image with this name, if the catalog has one. */
    Optional<GuestImage> find(String name);
}
