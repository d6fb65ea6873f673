-- Argo CD health check of OVHNodePool (ovh.nodepool-operator.io/v1alpha1).
--
-- Argo CD passes the live object as the table `obj` and reads `status` (Healthy, Progressing,
-- Degraded or Suspended) and `message` from the returned table. The script sticks to Lua 5.1,
-- the dialect of Argo CD's interpreter (gopher-lua). Rules, in this order:
--   1. no status or no conditions yet: Progressing;
--   2. Stalled is True for the current generation: Degraded, with the condition's message;
--   3. the paused annotation is "true" or the Paused condition is True: Suspended;
--   4. status.observedGeneration differs from metadata.generation: Progressing;
--   5. Reconciling is True: Progressing, with the condition's message;
--   6. Ready is True: Healthy;
--   7. anything else: Progressing.

local PAUSED_ANNOTATION = "ovh.nodepool-operator.io/paused"

local function find_condition(conditions, condition_type)
  for _, condition in ipairs(conditions) do
    if condition.type == condition_type then
      return condition
    end
  end
  return nil
end

local function is_true(condition)
  return condition ~= nil and condition.status == "True"
end

local function describe(condition, fallback)
  if condition == nil then
    return fallback
  end
  local message = condition.message
  if message == nil or message == "" then
    message = fallback
  end
  if condition.reason ~= nil and condition.reason ~= "" then
    return condition.reason .. ": " .. message
  end
  return message
end

local function annotation(object, key)
  if object.metadata == nil or object.metadata.annotations == nil then
    return nil
  end
  return object.metadata.annotations[key]
end

local function health(object)
  local status = object.status
  if status == nil or status.conditions == nil or #status.conditions == 0 then
    return {status = "Progressing", message = "Waiting for the operator to report a status."}
  end

  local conditions = status.conditions
  local generation = nil
  if object.metadata ~= nil then
    generation = object.metadata.generation
  end
  local current = status.observedGeneration ~= nil and status.observedGeneration == generation

  local stalled = find_condition(conditions, "Stalled")
  if current and is_true(stalled) then
    return {status = "Degraded", message = describe(stalled, "The operator needs a person to act.")}
  end

  local paused = find_condition(conditions, "Paused")
  if is_true(paused) or annotation(object, PAUSED_ANNOTATION) == "true" then
    return {
      status = "Suspended",
      message = describe(paused, "Writes to OVH are paused by the " .. PAUSED_ANNOTATION .. " annotation."),
    }
  end

  if not current then
    local observed = tostring(status.observedGeneration or "none")
    return {
      status = "Progressing",
      message = "Waiting for the operator to observe generation " .. tostring(generation)
        .. " (observed: " .. observed .. ").",
    }
  end

  local reconciling = find_condition(conditions, "Reconciling")
  if is_true(reconciling) then
    return {status = "Progressing", message = describe(reconciling, "The operator is reconciling.")}
  end

  local ready = find_condition(conditions, "Ready")
  if is_true(ready) then
    return {status = "Healthy", message = describe(ready, "The node pool matches the spec.")}
  end
  return {status = "Progressing", message = describe(ready, "Waiting for the node pool to be ready.")}
end

return health(obj)
