/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QOM uint64 properties with a range: one getter and one setter for all
 * the devices' run-time settings (latencies, busy times, bandwidths)
 *
 * Copyright (c) 2026 tangolab developers
 */

#ifndef HW_LIMITED_UINT64_H
#define HW_LIMITED_UINT64_H

#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qom/object.h"

/*
 * A run-time setting held in a uint64_t field of the instance, at most
 * @max; with @min_nonzero, 0 or at least @min_nonzero (0 then usually
 * means "off"). A refused value leaves the field as it was, with the error
 * "<type>: <name> must be at most <max> <unit> (<max_means>), not <value>".
 * Declare the table static const: the property keeps a pointer to its entry.
 */
typedef struct LimitedUint64Prop {
    const char *name;
    size_t offset;              /* of the uint64_t field in the instance */
    uint64_t min_nonzero;       /* 0: no lower bound */
    uint64_t max;
    const char *unit;           /* of the value, e.g. "ns" */
    const char *max_means;      /* @max in words, e.g. "1 s" */
    const char *desc;
} LimitedUint64Prop;

static inline uint64_t *limited_uint64_field(Object *obj,
                                             const LimitedUint64Prop *prop)
{
    return (uint64_t *)((char *)obj + prop->offset);
}

static inline void limited_uint64_get(Object *obj, Visitor *v,
                                      const char *name, void *opaque,
                                      Error **errp)
{
    visit_type_uint64(v, name, limited_uint64_field(obj, opaque), errp);
}

static inline void limited_uint64_set(Object *obj, Visitor *v,
                                      const char *name, void *opaque,
                                      Error **errp)
{
    const LimitedUint64Prop *prop = opaque;
    uint64_t value;

    if (!visit_type_uint64(v, name, &value, errp)) {
        return;
    }
    if (value > prop->max) {
        error_setg(errp, "%s: %s must be at most %" PRIu64 " %s (%s), not %"
                   PRIu64, object_get_typename(obj), name, prop->max,
                   prop->unit, prop->max_means, value);
        return;
    }
    if (value && value < prop->min_nonzero) {
        error_setg(errp, "%s: %s must be 0 or at least %" PRIu64 " %s, not %"
                   PRIu64, object_get_typename(obj), name, prop->min_nonzero,
                   prop->unit, value);
        return;
    }
    *limited_uint64_field(obj, prop) = value;
}

/* Add the properties of @props[0..@n-1] to @oc, with their descriptions */
static inline void limited_uint64_add(ObjectClass *oc,
                                      const LimitedUint64Prop *props,
                                      size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        object_class_property_add(oc, props[i].name, "uint64",
                                  limited_uint64_get, limited_uint64_set,
                                  NULL, (void *)&props[i]);
        object_class_property_set_description(oc, props[i].name,
                                              props[i].desc);
    }
}

#endif
