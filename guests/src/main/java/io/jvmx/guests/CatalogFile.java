package io.jvmx.guests;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;

/**
 * Reads {@code guests/catalog.properties} and the images it lists (the file's own header describes its keys).
 * Strict: a missing image, a bad number, a gap in the serial lines or a key of an image that is not listed is an
 * error naming the key, because a silently skipped image would make a test pass that should fail.
 */
final class CatalogFile {

    static final String DIRECTORY = "guests/";
    static final String CATALOG = DIRECTORY + "catalog.properties";

    /** Opens a resource by its path inside the jar; returns null when there is none. */
    @FunctionalInterface
    interface Resources {
        InputStream open(String path) throws IOException;
    }

    private final GuestCatalog catalog;
    private final List<GuestExpectation> expectations;

    private CatalogFile(List<GuestImage> images, List<GuestExpectation> expectations) {
        this.catalog = new ListCatalog(images);
        this.expectations = List.copyOf(expectations);
    }

    GuestCatalog catalog() {
        return catalog;
    }

    List<GuestExpectation> expectations() {
        return expectations;
    }

    static CatalogFile read(Resources resources) {
        Properties properties = new Properties();
        try (InputStream in = resources.open(CATALOG)) {
            if (in == null) {
                throw new IllegalStateException(CATALOG + " is missing from the guests bundle");
            }
            try (Reader reader = new InputStreamReader(in, StandardCharsets.UTF_8)) {
                properties.load(reader);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + CATALOG, e);
        }

        List<String> names = names(properties);
        checkEveryKeyBelongsToAListedImage(properties, names);

        List<GuestImage> images = new ArrayList<>();
        List<GuestExpectation> expectations = new ArrayList<>();
        for (String name : names) {
            byte[] bytes = image(resources, name);
            long loadAddress = number(properties, name + ".loadAddress");
            long entry = number(properties, name + ".entry");
            try {
                images.add(new GuestImage(name, required(properties, name + ".description"), bytes, loadAddress, entry));
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException(CATALOG + ": " + e.getMessage(), e);
            }
            expectations.add(expectation(properties, name));
        }
        return new CatalogFile(images, expectations);
    }

    private static List<String> names(Properties properties) {
        String list = required(properties, "images");
        Set<String> names = new LinkedHashSet<>();
        for (String part : list.split(",")) {
            String name = part.trim();
            if (name.isEmpty()) {
                throw new IllegalStateException(CATALOG + ": 'images' has an empty name: " + list);
            }
            if (!names.add(name)) {
                throw new IllegalStateException(CATALOG + ": 'images' lists " + name + " twice");
            }
        }
        return List.copyOf(names);
    }

    private static void checkEveryKeyBelongsToAListedImage(Properties properties, List<String> names) {
        for (String key : properties.stringPropertyNames()) {
            if (key.equals("images")) {
                continue;
            }
            boolean listed = names.stream().anyMatch(name -> key.startsWith(name + "."));
            if (!listed) {
                throw new IllegalStateException(CATALOG + ": key '" + key + "' belongs to no image listed in 'images'");
            }
        }
    }

    private static byte[] image(Resources resources, String name) {
        String path = DIRECTORY + name + ".img";
        try (InputStream in = resources.open(path)) {
            if (in == null) {
                throw new IllegalStateException(CATALOG + " lists " + name + ", but " + path + " is missing");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
    }

    private static GuestExpectation expectation(Properties properties, String name) {
        List<String> serial = new ArrayList<>();
        for (int n = 1; properties.containsKey(name + ".serial." + n); n++) {
            serial.add(properties.getProperty(name + ".serial." + n).trim());
        }
        long serialKeys = properties.stringPropertyNames().stream()
                .filter(key -> key.startsWith(name + ".serial.")).count();
        if (serialKeys != serial.size()) {
            throw new IllegalStateException(String.format(
                    "%s: %s has %d serial.<n> keys, but only serial.1 to serial.%d are numbered without a gap",
                    CATALOG, name, serialKeys, serial.size()));
        }
        OptionalLong exitCode = properties.containsKey(name + ".exitCode")
                ? OptionalLong.of(number(properties, name + ".exitCode")) : OptionalLong.empty();
        Optional<String> exitReason = Optional.ofNullable(properties.getProperty(name + ".exitReason")).map(String::trim);
        try {
            return new GuestExpectation(name, serial, exitCode, exitReason);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(CATALOG + ": " + e.getMessage(), e);
        }
    }

    private static String required(Properties properties, String key) {
        String value = properties.getProperty(key);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException(CATALOG + ": '" + key + "' is missing");
        }
        return value.trim();
    }

    private static long number(Properties properties, String key) {
        String value = required(properties, key);
        try {
            return Long.decode(value);
        } catch (NumberFormatException e) {
            throw new IllegalStateException(CATALOG + ": " + key + " = '" + value + "' is not a number", e);
        }
    }

    /** An immutable catalog in list order. */
    private static final class ListCatalog implements GuestCatalog {
        private final List<GuestImage> images;
        private final Map<String, GuestImage> byName;

        ListCatalog(List<GuestImage> images) {
            this.images = List.copyOf(images);
            Map<String, GuestImage> map = new LinkedHashMap<>();
            images.forEach(image -> map.put(image.name(), image));
            this.byName = Collections.unmodifiableMap(map);
        }

        @Override
        public List<GuestImage> images() {
            return images;
        }

        @Override
        public Optional<GuestImage> find(String name) {
            return Optional.ofNullable(byName.get(name));
        }

        @Override
        public String toString() {
            return "GuestCatalog" + byName.keySet();
        }
    }
}
