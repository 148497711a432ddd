// Handle tables: lavapipe's dispatchable handles -> the ICD's records.
//
// One reader-writer lock per table: lookups (every owned command) share
// it, creation and destruction take it alone. The tables are allocated once
// and never destroyed, so a command racing process exit never finds a
// destroyed table.
#include <shared_mutex>

#include "vulkan/objects.h"

namespace wsys::vk {

namespace {

template <typename Key, typename Value>
class Table {
 public:
  Value* find(Key k) const {
    std::shared_lock<std::shared_mutex> g(lock_);
    auto it = map_.find(k);
    return it == map_.end() ? nullptr : it->second;
  }
  void add(Key k, Value* v) {
    std::unique_lock<std::shared_mutex> g(lock_);
    map_[k] = v;
  }
  Value* remove(Key k) {
    std::unique_lock<std::shared_mutex> g(lock_);
    auto it = map_.find(k);
    if (it == map_.end()) return nullptr;
    Value* v = it->second;
    map_.erase(it);
    return v;
  }

 private:
  mutable std::shared_mutex lock_;
  std::unordered_map<Key, Value*> map_;
};

struct Registry {
  Table<VkInstance, Instance> instances;
  Table<VkPhysicalDevice, PhysicalDevice> physical;
  Table<VkDevice, Device> devices;
  Table<VkQueue, Device> queues;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed (see above)
  return *r;
}

}  // namespace

Instance* find_instance(VkInstance h) { return registry().instances.find(h); }
PhysicalDevice* find_physical_device(VkPhysicalDevice h) { return registry().physical.find(h); }
Device* find_device(VkDevice h) { return registry().devices.find(h); }
Device* find_queue_device(VkQueue h) { return registry().queues.find(h); }

void add_instance(std::unique_ptr<Instance> inst) {
  VkInstance h = inst->handle;
  registry().instances.add(h, inst.release());
}
std::unique_ptr<Instance> remove_instance(VkInstance h) {
  return std::unique_ptr<Instance>(registry().instances.remove(h));
}
void add_physical_device(PhysicalDevice* pd) { registry().physical.add(pd->handle, pd); }
void remove_physical_device(VkPhysicalDevice h) { registry().physical.remove(h); }
void add_device(std::unique_ptr<Device> dev) {
  VkDevice h = dev->handle;
  registry().devices.add(h, dev.release());
}
std::unique_ptr<Device> remove_device(VkDevice h) {
  return std::unique_ptr<Device>(registry().devices.remove(h));
}
void add_queue(VkQueue q, Device* d) { registry().queues.add(q, d); }
void remove_queue(VkQueue q) { registry().queues.remove(q); }

}  // namespace wsys::vk
