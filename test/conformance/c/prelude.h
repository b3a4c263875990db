/*
 * Common prelude for the conformance programs: the real Xen public headers (Debian libxen-dev), at the
 * latest interface version, with the barriers ring.h expects the including program to provide.
 */
#ifndef PVNET_CONFORMANCE_PRELUDE_H
#define PVNET_CONFORMANCE_PRELUDE_H

#define __XEN_INTERFACE_VERSION__ 0x00040e00

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ring.h leaves the barriers to the includer at this interface version; a full fence serves for all three. */
#define xen_mb() __sync_synchronize()
#define xen_rmb() __sync_synchronize()
#define xen_wmb() __sync_synchronize()

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/event_channel.h>
#include <xen/io/xenbus.h>
#include <xen/io/ring.h>
#include <xen/io/netif.h>

#endif
