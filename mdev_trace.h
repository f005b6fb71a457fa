/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoints of the mediated device core: the life of parents and devices.
 */

#undef TRACE_SYSTEM
#define TRACE_SYSTEM mdev

#if !defined(_MDEV_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _MDEV_TRACE_H

#include <linux/mdev.h>
#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(mdev_parent_class,
		    TP_PROTO(struct mdev_parent *parent),
		    TP_ARGS(parent),
		    TP_STRUCT__entry(__string(parent, dev_name(parent->dev))
				     __field(unsigned int, nr_types)),
		    TP_fast_assign(__assign_str(parent);
				   __entry->nr_types = parent->nr_types;),
		    TP_printk("parent=%s nr_types=%u", __get_str(parent),
			      __entry->nr_types));

DEFINE_EVENT(mdev_parent_class, mdev_parent_register,
	     TP_PROTO(struct mdev_parent *parent),
	     TP_ARGS(parent));

DEFINE_EVENT(mdev_parent_class, mdev_parent_unregister,
	     TP_PROTO(struct mdev_parent *parent),
	     TP_ARGS(parent));

TRACE_EVENT(mdev_create,
	    TP_PROTO(const char *type, const guid_t *uuid, int ret),
	    TP_ARGS(type, uuid, ret),
	    TP_STRUCT__entry(__string(type, type)
			     __array(u8, uuid, UUID_SIZE)
			     __field(int, ret)),
	    TP_fast_assign(__assign_str(type);
			   memcpy(__entry->uuid, uuid, UUID_SIZE);
			   __entry->ret = ret;),
	    TP_printk("type=%s uuid=%pUl ret=%d", __get_str(type),
		      __entry->uuid, __entry->ret));

DECLARE_EVENT_CLASS(mdev_device_class,
		    TP_PROTO(struct mdev_device *mdev),
		    TP_ARGS(mdev),
		    TP_STRUCT__entry(__array(u8, uuid, UUID_SIZE)
				     __string(driver, mdev->dev.driver ?
					      mdev->dev.driver->name : "")),
		    TP_fast_assign(memcpy(__entry->uuid, &mdev->uuid, UUID_SIZE);
				   __assign_str(driver);),
		    TP_printk("uuid=%pUl driver=%s", __entry->uuid,
			      __get_str(driver)));

DEFINE_EVENT(mdev_device_class, mdev_remove,
	     TP_PROTO(struct mdev_device *mdev),
	     TP_ARGS(mdev));

DEFINE_EVENT(mdev_device_class, mdev_release,
	     TP_PROTO(struct mdev_device *mdev),
	     TP_ARGS(mdev));

DEFINE_EVENT(mdev_device_class, mdev_bind,
	     TP_PROTO(struct mdev_device *mdev),
	     TP_ARGS(mdev));

DEFINE_EVENT(mdev_device_class, mdev_unbind,
	     TP_PROTO(struct mdev_device *mdev),
	     TP_ARGS(mdev));

#endif /* _MDEV_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE mdev_trace
#include <trace/define_trace.h>
