/**
 * Guest images: flat binaries loaded at guest-physical 0x8000 and entered in real mode there, their catalog and
 * the expectations tests check them against. The sources are in the module's {@code src/main/asm}.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.jvmx.guests;
