package io.jvmx.guests;

import java.io.InputStream;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The guest images bundled in this jar, for plain Java callers (tests, tools) that do not go through the OSGi
 * service registry. They come from {@code guests/catalog.properties} and {@code guests/<name>.img} in this jar's
 * resources, read once on first use.
 */
public final class BundledGuests {

    private static volatile CatalogFile loaded;

    private BundledGuests() {
    }

    /** The catalog of the bundled images. */
    public static GuestCatalog catalog() {
        return file().catalog();
    }

    /** How each bundled image ends when the platform is correct, in catalog order. */
    public static List<GuestExpectation> expectations() {
        return file().expectations();
    }

    /** How the named bundled image ends when the platform is correct. */
    public static Optional<GuestExpectation> expectation(String name) {
        Objects.requireNonNull(name, "name");
        return file().expectations().stream().filter(e -> e.name().equals(name)).findFirst();
    }

    // Not cached when reading fails, so that every caller sees the same clear error rather than a
    // NoClassDefFoundError after the first one.
    private static CatalogFile file() {
        CatalogFile file = loaded;
        if (file == null) {
            synchronized (BundledGuests.class) {
                file = loaded;
                if (file == null) {
                    file = CatalogFile.read(BundledGuests::openResource);
                    loaded = file;
                }
            }
        }
        return file;
    }

    private static InputStream openResource(String path) {
        ClassLoader loader = BundledGuests.class.getClassLoader();
        return loader == null ? ClassLoader.getSystemResourceAsStream(path) : loader.getResourceAsStream(path);
    }
}
