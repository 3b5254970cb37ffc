/**
 * The Gogo commands of jvmx ({@code vcpu:*}, {@code vmx:info}): DS components over the vCPU runtime services.
 * Private to the shell bundle.
 */
package io.jvmx.shell;
