package io.jvmx.guests.internal;

import io.jvmx.guests.BundledGuests;
import io.jvmx.guests.GuestCatalog;
import io.jvmx.guests.GuestImage;
import java.util.List;
import java.util.Optional;
import org.osgi.service.component.annotations.Component;

/**
 * Registers the images bundled in {@code io.jvmx.guests} as the {@link GuestCatalog} service. The bundle's
 * class loader finds {@code guests/catalog.properties} and the images inside this bundle; a broken catalog fails
 * the activation with the catalog's error message.
 */
@Component(service = GuestCatalog.class, property = "service.description=Guest images bundled with io.jvmx.guests")
public final class BundleGuestCatalog implements GuestCatalog {

    private final GuestCatalog bundled;

    public BundleGuestCatalog() {
        this.bundled = BundledGuests.catalog();
    }

    @Override
    public List<GuestImage> images() {
        return bundled.images();
    }

    @Override
    public Optional<GuestImage> find(String name) {
        return bundled.find(name);
    }

    @Override
    public String toString() {
        return bundled.toString();
    }
}
